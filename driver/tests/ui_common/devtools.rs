//! Driving headless Chromium from a test over the DevTools protocol, with
//! no WebSocket: `--remote-debugging-pipe` makes Chromium read commands
//! from its file descriptor 3 and write answers and events to 4, each a
//! JSON message ended by a NUL byte. A test opens one page, runs scripts in
//! it (`Runtime.evaluate`), clicks links, and reads back what the user
//! would see: the DOM after the page's own script ran, scroll positions,
//! whether the page reloaded.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one protocol command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A headless Chromium with one page open, killed on drop.
pub struct Browser {
    child: Child,
    commands: std::fs::File,
    answers: mpsc::Receiver<Value>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both descriptors are open and ours alone.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

impl Browser {
    /// Starts Chromium (`binary`) with a window of `width`×`height` and an empty page.
    pub fn start(binary: &Path, width: u32, height: u32) -> Browser {
        use std::os::fd::AsRawFd;
        let profile = tempfile::tempdir().expect("a profile directory");
        let (to_chrome_read, to_chrome_write) = pipe();
        let (from_chrome_read, from_chrome_write) = pipe();
        let (command_fd, answer_fd) = (to_chrome_read.as_raw_fd(), from_chrome_write.as_raw_fd());
        let mut command = Command::new(binary);
        command
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
            .arg("--remote-debugging-pipe")
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec the closure calls only dup2, which is
        // async-signal-safe; the duplicated descriptors (without CLOEXEC)
        // become the child's 3 and 4, the protocol's pipe ends.
        unsafe {
            command.pre_exec(move || {
                if libc::dup2(command_fd, 3) < 0 || libc::dup2(answer_fd, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("chromium starts");
        drop((to_chrome_read, from_chrome_write));
        let (tx, answers) = mpsc::channel();
        let reader = std::fs::File::from(from_chrome_read);
        std::thread::spawn(move || {
            for message in BufReader::new(reader).split(0) {
                let Ok(bytes) = message else { return };
                if let Ok(value) = serde_json::from_slice::<Value>(&bytes)
                    && tx.send(value).is_err()
                {
                    return;
                }
            }
        });
        let mut browser = Browser {
            child,
            commands: std::fs::File::from(to_chrome_write),
            answers,
            session: String::new(),
            next_id: 0,
            _profile: profile,
        };
        let target = browser.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().expect("a target id").to_string();
        let attached = browser.call(None, "Target.attachToTarget", json!({ "targetId": target_id, "flatten": true }));
        browser.session = attached["sessionId"].as_str().expect("a session id").to_string();
        browser
    }

    /// Sends a command (to the page's session unless `session` is `None`)
    /// and waits for its answer's `result`.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&message).expect("JSON");
        bytes.push(0);
        self.commands.write_all(&bytes).expect("chromium reads its pipe");
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = self.answers.recv_timeout(left).unwrap_or_else(|_| panic!("no answer to {method}"));
            if answer["id"] == id {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    /// Opens `url` in the page and waits until it has loaded.
    pub fn open(&mut self, url: &str) {
        let session = self.session.clone();
        self.call(Some(&session), "Page.navigate", json!({ "url": url }));
        self.wait_for(
            "the page to load",
            Duration::from_secs(30),
            "document.readyState === 'complete' && location.href !== 'about:blank'",
        );
    }

    /// The value of `expression` in the page (promises awaited).
    pub fn eval(&mut self, expression: &str) -> Value {
        let session = self.session.clone();
        let params = json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        let result = self.call(Some(&session), "Runtime.evaluate", params);
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {result}");
        result["result"]["value"].clone()
    }

    /// Waits until `condition` (a JavaScript expression) is true in the page.
    pub fn wait_for(&mut self, what: &str, timeout: Duration, condition: &str) {
        let deadline = Instant::now() + timeout;
        while self.eval(&format!("!!({condition})")) != json!(true) {
            assert!(Instant::now() < deadline, "timed out waiting for {what} ({condition})");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks the first element `selector` matches, then waits for the page
    /// it leads to.
    pub fn click_link(&mut self, selector: &str) {
        let href = self.eval(&format!("document.querySelector({selector:?}).href"));
        let href = href.as_str().unwrap_or_else(|| panic!("no link {selector}")).to_string();
        self.eval(&format!("document.querySelector({selector:?}).click()"));
        self.wait_for(
            "the link's page",
            Duration::from_secs(30),
            &format!("location.href === {href:?} && document.readyState === 'complete'"),
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
