//! Scalars that arrive in more than one JSON shape. Each remembers the shape
//! it came in, so re-encoding gives back the same JSON.

mod cursor;
mod flag;
mod numeric;
mod secret;
mod timestamp;

pub use cursor::Cursor;
pub use flag::Flag;
pub use numeric::Numeric;
pub use secret::Secret;
pub use timestamp::{InvalidTimestamp, Timestamp, TimestampFormat};
