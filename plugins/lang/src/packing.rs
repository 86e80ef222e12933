//! Packing short documents into blocks that start at a document's beginning.
//!
//! `assay_text::corpus::pack` cuts one stream into consecutive blocks, so a block usually starts
//! in the middle of a document, and the model rarely sees a document start at position 0. Study
//! 5 generates from the beginning-of-sequence token at position 0 and reads the units' responses
//! to `[BOS, sentence]` from position 0, so here every block starts the way those sequences
//! do: the end-of-document token (which doubles as BOS), then whole documents, each followed by
//! the end-of-document token. A document that does not fit in the rest of a block fills it and
//! starts the next block again, whole; a document longer than a block is cut to it.

/// Blocks of `block + 1` tokens (inputs and their next tokens) as the module documentation
/// describes. Empty documents are skipped; nothing is returned for `block == 0`.
pub fn pack_aligned(docs: &[Vec<u32>], eos: u32, block: usize) -> Vec<Vec<u32>> {
    let docs: Vec<&Vec<u32>> = docs.iter().filter(|d| !d.is_empty()).collect();
    let mut out = Vec::new();
    if block == 0 {
        return out;
    }
    let width = block + 1;
    let mut i = 0;
    while i < docs.len() {
        let mut b = Vec::with_capacity(width);
        b.push(eos);
        let first = i;
        while i < docs.len() && b.len() < width {
            let d = docs[i];
            let room = width - b.len();
            if d.len() < room {
                b.extend_from_slice(d);
                b.push(eos);
                i += 1;
            } else {
                b.extend_from_slice(&d[..room]);
                // Starts the next block again, unless it began this one (then it is too long
                // for any block and is cut here).
                if i == first {
                    i += 1;
                }
            }
        }
        if b.len() == width {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_start_at_documents_and_cut_ones_start_the_next_block() {
        let e = 9;
        let docs = vec![
            vec![1, 2],
            vec![3, 4, 5],
            vec![6],
            vec![7, 7, 7, 7, 7, 7, 7, 7],
        ];
        let blocks = pack_aligned(&docs, e, 5);
        assert_eq!(
            blocks,
            vec![
                // E 1 2 E 3 4 | 5 is cut: [3 4 5] starts the next block.
                vec![e, 1, 2, e, 3, 4],
                vec![e, 3, 4, 5, e, 6],
                // [6] filled the block above without its E: it restarts here.
                vec![e, 6, e, 7, 7, 7],
                // Too long for any block: cut to the block.
                vec![e, 7, 7, 7, 7, 7],
            ]
        );
        assert!(blocks.iter().all(|b| b[0] == e && b.len() == 6));
        assert!(pack_aligned(&docs, e, 0).is_empty());
        // An incomplete last block is dropped.
        assert!(pack_aligned(&[vec![1]], e, 5).is_empty());
    }
}
