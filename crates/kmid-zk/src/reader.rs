//! The one reader of proof bytes: every read is bounds-checked and a failure names its offset.

use crate::error::ZkError;
use crate::field::Field;
use crate::merkle::Digest;

/// A cursor over untrusted proof bytes.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    pub(crate) fn error(&self, what: &'static str) -> ZkError {
        ZkError::MalformedProof { at: self.at, what }
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ZkError> {
        let end = self.at.checked_add(n).ok_or(self.error(what))?;
        let out = self.bytes.get(self.at..end).ok_or(self.error(what))?;
        self.at = end;
        Ok(out)
    }

    pub(crate) fn element<F: Field>(&mut self, what: &'static str) -> Result<F, ZkError> {
        let at = self.at;
        let bytes = self.take(F::BYTES, what)?;
        F::from_bytes(bytes).ok_or(ZkError::MalformedProof { at, what })
    }

    pub(crate) fn elements<F: Field>(
        &mut self,
        n: usize,
        what: &'static str,
    ) -> Result<Vec<F>, ZkError> {
        // The length is known to fit before anything is allocated.
        let need = n.checked_mul(F::BYTES).ok_or(self.error(what))?;
        if self.remaining() < need {
            return Err(self.error(what));
        }
        (0..n).map(|_| self.element(what)).collect()
    }

    pub(crate) fn subfield_element<F: Field>(&mut self, what: &'static str) -> Result<F, ZkError> {
        let at = self.at;
        let bytes = self.take(F::SUBFIELD_BYTES, what)?;
        F::from_subfield_bytes(bytes).ok_or(ZkError::MalformedProof { at, what })
    }

    pub(crate) fn digest(&mut self, what: &'static str) -> Result<Digest, ZkError> {
        let at = self.at;
        self.take(32, what)?
            .try_into()
            .map_err(|_| ZkError::MalformedProof { at, what })
    }

    pub(crate) fn u32_le(&mut self, what: &'static str) -> Result<u32, ZkError> {
        let at = self.at;
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes(
            b.try_into()
                .map_err(|_| ZkError::MalformedProof { at, what })?,
        ))
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }

    pub(crate) fn position(&self) -> usize {
        self.at
    }
}
