//! FNV-1a, 64 bits: the fingerprints the sink stores (a table's shape, a
//! response's answers). Unlike `std`'s hasher it is the same in every
//! release and on every platform, which stored fingerprints need.

use std::io;

/// FNV-1a fed as an [`io::Write`], so a value can be serialised straight
/// into it.
pub(crate) struct Fnv1a(u64);

impl Fnv1a {
    pub(crate) fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    /// The hash as 16 hex digits.
    pub(crate) fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl io::Write for Fnv1a {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// FNV-1a of `text`, as 16 hex digits.
pub(crate) fn fnv1a(text: &str) -> String {
    let mut hash = Fnv1a::new();
    io::Write::write_all(&mut hash, text.as_bytes()).expect("hashing never fails");
    hash.hex()
}
