//! The environment page: the runtime and the configuration in effect, with
//! secret values redacted before they ever left the driver (the event log
//! holds them redacted too).

use super::{PageContext, layout, table};
use crate::ui::api::environment;
use crate::ui::format::esc;
use crate::ui::state::AppState;

/// `/environment/`.
pub fn environment_page(state: &AppState, ctx: &PageContext) -> String {
    let env = environment(state);
    let runtime = table(&["Name", "Value"], env.runtime.iter().map(|(k, v)| vec![esc(k), esc(v)]));
    let props = table(&["Name", "Value"], env.ember_properties.iter().map(|(k, v)| vec![esc(k), esc(v)]));
    layout(
        state,
        ctx,
        "Environment",
        "Environment",
        &format!("<h2>Runtime Information</h2>{runtime}<h2>Ember Properties</h2>{props}"),
    )
}
