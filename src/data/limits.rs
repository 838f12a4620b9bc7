//! Size limits, derived from the largest legal input, so that a wrong file (a device, a huge
//! sparse file, a gzip bomb) is refused with a clear message instead of filling memory.
//!
//! The largest legal data set is all 60 000 CIFAR-100 records (3074 bytes each, 184.4 MB), as
//! one loose `.bin` file or as archive members; the official CIFAR-100 archive is 161 MiB and
//! unpacks to ~185 MB of tar.

use super::CifarKind;

/// Records in a whole official data set (50 000 training + 10 000 test).
pub const MAX_RECORDS: usize = 60_000;

/// The most bytes a CIFAR binary file (loose, a directory's or an archive member) may have:
/// every record of the data set in one file.
pub const fn max_bin_bytes(kind: CifarKind) -> u64 {
    (MAX_RECORDS * kind.record_bytes()) as u64
}

/// The most bytes of a file given as the data: a loose `.bin` of every CIFAR-100 record or an
/// archive (which cannot be larger than the tar it compresses), rounded up to 192 MiB.
pub const MAX_DATA_FILE: u64 = 192 << 20;

/// The most bytes an archive may decompress to: every file of a layout at its limit plus tar
/// headers, rounded up. Official archives unpack to ~185 MB.
pub const MAX_UNPACKED: u64 = 256 << 20;

/// The most bytes of a class-name file (the CIFAR-100 fine names are ~1 KB).
pub const MAX_NAMES_FILE: u64 = 64 << 10;
