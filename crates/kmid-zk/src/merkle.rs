//! The Merkle commitment to Ligero's columns (google/longfellow-zk `lib/merkle/`): SHA-256,
//! `n` leaves at heap positions `n..2n` (no padding to a power of two), node `i`'s children at
//! `2i` and `2i + 1`, the root at 1. A leaf is `SHA-256(nonce ‖ column)`.
//!
//! An opening of several leaves sends only the digests the verifier cannot compute, in the
//! order a walk from node `n − 1` down to 1 meets them: at each node above an opened leaf, the
//! child that is not above one (if any).

use kmid_crypto::{CryptoProvider, HashAlgorithm};

use crate::error::ZkError;

/// A SHA-256 digest.
pub type Digest = [u8; 32];

fn hash2(provider: &CryptoProvider, left: &Digest, right: &Digest) -> Result<Digest, ZkError> {
    let mut h = HashAlgorithm::Sha256.hasher_on(provider);
    h.update(left);
    h.update(right);
    h.finish()
        .as_slice()
        .try_into()
        .map_err(|_| ZkError::Crypto)
}

/// The nodes above the leaves at `positions` (heap numbering), as a bitmap of `2n` entries.
fn marks(n: usize, positions: &[usize]) -> Option<Vec<bool>> {
    let mut marked = vec![false; 2 * n];
    for &p in positions {
        *marked.get_mut(n.checked_add(p)?)? = p < n;
        if p >= n {
            return None;
        }
    }
    for i in (1..n).rev() {
        let m = *marked.get(2 * i)? || *marked.get(2 * i + 1)?;
        *marked.get_mut(i)? = m;
    }
    Some(marked)
}

/// The nodes whose digests an opening of `positions` sends, in order.
fn sent_nodes(n: usize, marked: &[bool]) -> Vec<usize> {
    let mut out = Vec::new();
    for i in (1..n).rev() {
        if marked.get(i).copied().unwrap_or(false) {
            let left_marked = marked.get(2 * i).copied().unwrap_or(false);
            let c = if left_marked { 2 * i + 1 } else { 2 * i };
            if !marked.get(c).copied().unwrap_or(true) {
                out.push(c);
            }
        }
    }
    out
}

/// Checks that `leaves` (the digests of the leaves at `positions`, in the same order) belong to
/// the tree of `n` leaves with `root`, given the compressed `path`. Every digest of `path` must
/// be used.
///
/// # Errors
/// [`ZkError::MalformedProof`] for positions out of range; [`ZkError::Refused`] with
/// [`crate::Check::MerkleRoot`] for a path of the wrong length or a root that does not match.
pub fn verify(
    provider: &CryptoProvider,
    root: &Digest,
    n: usize,
    positions: &[usize],
    leaves: &[Digest],
    path: &[Digest],
) -> Result<(), ZkError> {
    let bad = |what| ZkError::MalformedProof { at: 0, what };
    if n == 0 || positions.len() != leaves.len() {
        return Err(bad("Merkle opening shape"));
    }
    let marked = marks(n, positions).ok_or(bad("Merkle leaf position"))?;
    let sent = sent_nodes(n, &marked);
    // The digests an opening needs depend on the positions the transcript drew: a path of
    // another length is an opening of other columns, a false proof rather than bad bytes.
    if sent.len() != path.len() {
        return Err(ZkError::Refused(crate::Check::MerkleRoot));
    }
    let mut known: Vec<Option<Digest>> = vec![None; 2 * n];
    for (&node, digest) in sent.iter().zip(path) {
        *known.get_mut(node).ok_or(bad("Merkle node"))? = Some(*digest);
    }
    for (&p, leaf) in positions.iter().zip(leaves) {
        *known.get_mut(n + p).ok_or(bad("Merkle node"))? = Some(*leaf);
    }
    for i in (1..n).rev() {
        if let (Some(Some(l)), Some(Some(r))) = (known.get(2 * i), known.get(2 * i + 1)) {
            let h = hash2(provider, l, r)?;
            *known.get_mut(i).ok_or(bad("Merkle node"))? = Some(h);
        }
    }
    match known.get(1) {
        Some(Some(computed)) if computed == root => Ok(()),
        _ => Err(ZkError::Refused(crate::Check::MerkleRoot)),
    }
}

/// A whole tree, for the prover: its root and the compressed opening of any set of leaves.
#[derive(Debug, Clone)]
pub struct Tree {
    n: usize,
    nodes: Vec<Digest>,
}

impl Tree {
    /// The tree over `leaves` (at least one).
    ///
    /// # Errors
    /// No leaves; a provider failure.
    pub fn new(provider: &CryptoProvider, leaves: &[Digest]) -> Result<Self, ZkError> {
        let n = leaves.len();
        if n == 0 {
            return Err(ZkError::Crypto);
        }
        let mut nodes = vec![[0u8; 32]; 2 * n];
        nodes
            .get_mut(n..)
            .ok_or(ZkError::Crypto)?
            .copy_from_slice(leaves);
        for i in (1..n).rev() {
            let (l, r) = (
                nodes.get(2 * i).ok_or(ZkError::Crypto)?,
                nodes.get(2 * i + 1).ok_or(ZkError::Crypto)?,
            );
            let h = hash2(provider, l, r)?;
            *nodes.get_mut(i).ok_or(ZkError::Crypto)? = h;
        }
        Ok(Self { n, nodes })
    }

    /// The root.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.nodes.get(1).copied().unwrap_or_default()
    }

    /// The compressed opening of the leaves at `positions`.
    ///
    /// # Errors
    /// A position out of range.
    pub fn open(&self, positions: &[usize]) -> Result<Vec<Digest>, ZkError> {
        let marked = marks(self.n, positions).ok_or(ZkError::Crypto)?;
        sent_nodes(self.n, &marked)
            .into_iter()
            .map(|i| self.nodes.get(i).copied().ok_or(ZkError::Crypto))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use kmid_crypto::CryptoProvider;
    use proptest::prelude::*;

    use super::{Digest, Tree, verify};
    use crate::{Check, ZkError};

    fn leaves(n: usize, seed: u8) -> Vec<Digest> {
        (0..n)
            .map(|i| {
                let mut d = [seed; 32];
                d[..8].copy_from_slice(&u64::try_from(i).unwrap().to_le_bytes());
                d
            })
            .collect()
    }

    proptest! {
        #[test]
        fn openings_verify_and_tampering_is_refused(
            n in 1usize..300,
            picks in proptest::collection::vec(any::<prop::sample::Index>(), 1..20),
            seed: u8,
        ) {
            let p = CryptoProvider::get_default();
            let all = leaves(n, seed);
            let tree = Tree::new(p, &all).unwrap();
            let mut positions: Vec<usize> = picks.iter().map(|i| i.index(n)).collect();
            positions.dedup();
            positions.sort_unstable();
            positions.dedup();
            let opened: Vec<Digest> = positions.iter().map(|&i| all[i]).collect();
            let path = tree.open(&positions).unwrap();
            prop_assert_eq!(verify(p, &tree.root(), n, &positions, &opened, &path), Ok(()));
            // Another leaf value.
            let mut wrong = opened.clone();
            wrong[0][31] ^= 1;
            prop_assert_eq!(
                verify(p, &tree.root(), n, &positions, &wrong, &path),
                Err(ZkError::Refused(Check::MerkleRoot))
            );
            // A digest too many or too few.
            let mut longer = path.clone();
            longer.push([0; 32]);
            prop_assert_eq!(
                verify(p, &tree.root(), n, &positions, &opened, &longer),
                Err(ZkError::Refused(Check::MerkleRoot))
            );
            if !path.is_empty() {
                let mut tampered = path.clone();
                tampered[0][0] ^= 1;
                prop_assert_eq!(
                    verify(p, &tree.root(), n, &positions, &opened, &tampered),
                    Err(ZkError::Refused(Check::MerkleRoot))
                );
            }
        }
    }

    #[test]
    fn positions_out_of_range_are_malformed() {
        let p = CryptoProvider::get_default();
        let tree = Tree::new(p, &leaves(5, 1)).unwrap();
        assert!(matches!(
            verify(p, &tree.root(), 5, &[5], &[[0; 32]], &[]),
            Err(ZkError::MalformedProof { .. })
        ));
    }
}
