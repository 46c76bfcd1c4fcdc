//! Functions that can be shipped to another process.
//!
//! Rust cannot serialize a closure, so Ember ships *the binary, not the
//! closure* (see `shipping`). What still has to travel is a closure's captured
//! state. Ember's user-facing API makes that explicit (ADR 0001):
//!
//! - `rdd.map(|x| x * 2)`: a closure that captures nothing is a zero-sized
//!   type. It needs no bytes at all: the receiving process conjures the value
//!   of the very same type (same binary). Capturing something in such a
//!   closure is a **compile error** that points here.
//! - `rdd.with(state).map(|state, x| ...)`: the state is any `Serialize +
//!   DeserializeOwned + Clone` value; it travels with the stage and every
//!   function of the operation gets a reference to it (`map_with(state, f)`
//!   and the other `_with` methods are shorthands). Large read-only state
//!   belongs in a broadcast variable, itself a small serializable handle.
//!
//! [`Plain`] and [`With`] wrap those two shapes; everything inside Ember is
//! generic over the [`Fn1`] / [`Fn2`] / [`Fn3`] traits they implement, so both
//! shapes are the same to the engine.

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer, de::DeserializeOwned};

/// A closure that an RDD operation can ship to executors: it captures
/// nothing (and so is `Copy`, `Send`, `Sync` and `'static`). A closure that
/// captures a `String` or a `Vec` fails this bound ("`String: Copy` is not
/// satisfied ... required for `{closure}` to implement `CapturesNothing`");
/// one that captures a number passes it and fails to build with a message
/// from [`Plain::new`]. Either way the fix is to give the operation state:
/// `rdd.with(state).map(|state, x| ...)` (see `ops::with_state`).
pub trait CapturesNothing: Copy + Send + Sync + 'static {}
impl<F: Copy + Send + Sync + 'static> CapturesNothing for F {}

/// A shippable function of one argument.
pub trait Fn1<A, R>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn call(&self, a: A) -> R;
}

/// A shippable function of two arguments.
pub trait Fn2<A, B, R>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn call(&self, a: A, b: B) -> R;
}

/// A shippable function of three arguments (`zip_partitions3`).
pub trait Fn3<A, B, C, R>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn call(&self, a: A, b: B, c: C) -> R;
}

/// A closure that captures nothing (a zero-sized type), shipped as zero bytes.
pub struct Plain<F>(F);

impl<F: Copy> Clone for Plain<F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F: Copy> Copy for Plain<F> {}

impl<F: Copy + Send + Sync + 'static> Plain<F> {
    /// Wraps a closure; fails to compile when the closure captures anything.
    pub fn new(f: F) -> Self {
        const {
            assert!(
                std::mem::size_of::<F>() == 0,
                "Ember: a closure given to an RDD operation must capture nothing: what it \
                 captures cannot be serialized to reach executors. Give the operation state \
                 instead, which every one of its functions receives first: \
                 `rdd.with(state).map(|state, x| ...)` (works for every operation), or pass a \
                 broadcast variable as state for large read-only data. (The error is at the \
                 operation named by 'the above error was encountered while instantiating'.)"
            )
        };
        Plain(f)
    }

    fn conjure() -> Self {
        const { assert!(std::mem::size_of::<F>() == 0) };
        // SAFETY: `F` is a zero-sized closure type (asserted at compile time
        // above and in `new`, the only constructor). A value of a zero-sized
        // type occupies no bytes, so there is nothing to initialize; closures
        // that capture nothing have no fields and hence no validity invariant
        // beyond existing, and a `Plain<F>` was created from a real value of
        // `F` in the driver, so the type is inhabited.
        let f = unsafe { std::mem::zeroed::<F>() };
        Plain(f)
    }
}

impl<F> Serialize for Plain<F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de, F: Copy + Send + Sync + 'static> Deserialize<'de> for Plain<F> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d)?;
        Ok(Plain::conjure())
    }
}

impl<F, A, R> Fn1<A, R> for Plain<F>
where
    F: Fn(A) -> R + CapturesNothing,
{
    #[inline]
    fn call(&self, a: A) -> R {
        (self.0)(a)
    }
}

impl<F, A, B, R> Fn2<A, B, R> for Plain<F>
where
    F: Fn(A, B) -> R + CapturesNothing,
{
    #[inline]
    fn call(&self, a: A, b: B) -> R {
        (self.0)(a, b)
    }
}

impl<F, A, B, C, R> Fn3<A, B, C, R> for Plain<F>
where
    F: Fn(A, B, C) -> R + CapturesNothing,
{
    #[inline]
    fn call(&self, a: A, b: B, c: C) -> R {
        (self.0)(a, b, c)
    }
}

/// A capture-free closure plus explicit, serializable state it borrows.
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "S: Serialize", deserialize = "S: DeserializeOwned, F: Copy + Send + Sync + 'static"))]
pub struct With<S, F> {
    state: S,
    f: Plain<F>,
}

impl<S: Clone, F: Copy> Clone for With<S, F> {
    fn clone(&self) -> Self {
        With { state: self.state.clone(), f: self.f }
    }
}

impl<S, F: Copy + Send + Sync + 'static> With<S, F> {
    pub fn new(state: S, f: F) -> Self {
        With { state, f: Plain::new(f) }
    }
}

impl<S, F, A, R> Fn1<A, R> for With<S, F>
where
    S: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    F: Fn(&S, A) -> R + CapturesNothing,
{
    #[inline]
    fn call(&self, a: A) -> R {
        (self.f.0)(&self.state, a)
    }
}

impl<S, F, A, B, R> Fn2<A, B, R> for With<S, F>
where
    S: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    F: Fn(&S, A, B) -> R + CapturesNothing,
{
    #[inline]
    fn call(&self, a: A, b: B) -> R {
        (self.f.0)(&self.state, a, b)
    }
}

impl<S, F, A, B, C, R> Fn3<A, B, C, R> for With<S, F>
where
    S: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    F: Fn(&S, A, B, C) -> R + CapturesNothing,
{
    #[inline]
    fn call(&self, a: A, b: B, c: C) -> R {
        (self.f.0)(&self.state, a, b, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip<T: Serialize + DeserializeOwned>(t: &T) -> T {
        postcard::from_bytes(&postcard::to_allocvec(t).unwrap()).unwrap()
    }

    #[test]
    fn plain_closure_ships_as_zero_bytes_and_still_runs() {
        let f = Plain::new(|x: i32| x * 3);
        assert!(postcard::to_allocvec(&f).unwrap().is_empty());
        let g = roundtrip(&f);
        assert_eq!(Fn1::call(&g, 7), 21);
    }

    #[test]
    fn state_travels_with_the_closure() {
        let f = With::new(vec![1, 2, 3], |v: &Vec<i32>, x: i32| v.contains(&x));
        let g = roundtrip(&f);
        assert!(Fn1::call(&g, 2));
        assert!(!Fn1::call(&g, 5));
    }

    #[test]
    fn two_argument_functions() {
        let f = Plain::new(|a: u64, b: u64| a + b);
        assert_eq!(Fn2::call(&roundtrip(&f), 2, 3), 5);
    }
}
