//! The one error of this crate. Every refusal names its reason; [`ZkError::code`] is the stable
//! dotted code the conformance vectors and logs carry.

/// Which check of a proof failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// The opened columns do not hash to the committed Merkle root.
    MerkleRoot,
    /// The low-degree test: the random combination of the rows is not the polynomial sent.
    LowDegree,
    /// The linear test: the committed witness does not satisfy the sumcheck's linear constraints.
    Linear,
    /// The linear test's value: the constraints' right-hand side does not match.
    LinearValue,
    /// The quadratic test: a committed product is not the product of its factors.
    Quadratic,
}

impl Check {
    /// The stable name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::MerkleRoot => "MerkleRoot",
            Self::LowDegree => "LowDegree",
            Self::Linear => "Linear",
            Self::LinearValue => "LinearValue",
            Self::Quadratic => "Quadratic",
        }
    }
}

/// Why a circuit file, a proof or a statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZkError {
    /// The circuit file is not a well-formed circuit (`at` is the offset in the decompressed
    /// bytes).
    #[error("malformed circuit at byte {at}: {what}")]
    MalformedCircuit {
        /// Offset of the first byte that could not be read.
        at: usize,
        /// What was expected there.
        what: &'static str,
    },
    /// The circuit file exceeds a limit (decompressed size, layer count, terms …).
    #[error("circuit exceeds the limit on {what}")]
    CircuitTooLarge {
        /// The limit that was reached.
        what: &'static str,
    },
    /// The circuits are not the ones this statement needs (version, attribute count or ID).
    #[error("circuit mismatch: {0}")]
    CircuitMismatch(&'static str),
    /// The proof bytes are not a well-formed proof for this circuit.
    #[error("malformed proof at byte {at}: {what}")]
    MalformedProof {
        /// Offset of the first byte that could not be read.
        at: usize,
        /// What was expected there.
        what: &'static str,
    },
    /// The proof is well-formed but false for this statement.
    #[error("proof refused: {} check failed", .0.name())]
    Refused(Check),
    /// The statement cannot be expressed in this circuit (an attribute too long, a time not
    /// in the circuit's format, …).
    #[error("statement not expressible: {0}")]
    Statement(&'static str),
    /// The crypto provider failed (SHA-256 or AES-256).
    #[error("crypto provider failure")]
    Crypto,
}

impl ZkError {
    /// The stable code: `Zk.` and the variant (and the failed check for a refusal).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MalformedCircuit { .. } => "Zk.MalformedCircuit",
            Self::CircuitTooLarge { .. } => "Zk.CircuitTooLarge",
            Self::CircuitMismatch(_) => "Zk.CircuitMismatch",
            Self::MalformedProof { .. } => "Zk.MalformedProof",
            Self::Refused(Check::MerkleRoot) => "Zk.Refused.MerkleRoot",
            Self::Refused(Check::LowDegree) => "Zk.Refused.LowDegree",
            Self::Refused(Check::Linear) => "Zk.Refused.Linear",
            Self::Refused(Check::LinearValue) => "Zk.Refused.LinearValue",
            Self::Refused(Check::Quadratic) => "Zk.Refused.Quadratic",
            Self::Statement(_) => "Zk.Statement",
            Self::Crypto => "Zk.Crypto",
        }
    }
}
