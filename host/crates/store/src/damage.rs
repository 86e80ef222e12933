//! Damaged files: a cheap check that a Parquet file is whole, so that one file cut short is
//! named and left out instead of failing every query over the store.

use std::path::Path;

/// Why the Parquet file at `path` cannot be read whole, if it cannot (`None` also when it does
/// not exist): a cheap check of both ends (the `PAR1` magic and the footer length), which
/// catches the usual damage, a file cut short by a full disk or a killed copy.
pub fn parquet_damage(path: &Path) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    if len < 12 {
        return Some(format!("{len} bytes, too short for a Parquet file"));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 8];
    let read = f.read_exact(&mut head).and_then(|_| {
        f.seek(SeekFrom::End(-8))?;
        f.read_exact(&mut tail)
    });
    if let Err(e) = read {
        return Some(format!("unreadable: {e}"));
    }
    if &head != b"PAR1" {
        return Some("does not start with PAR1: not a Parquet file".into());
    }
    if &tail[4..] != b"PAR1" {
        return Some(format!("does not end with PAR1: cut short ({len} bytes)"));
    }
    let footer = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if footer + 12 > len {
        return Some(format!(
            "its footer claims {footer} bytes of a {len}-byte file"
        ));
    }
    None
}
