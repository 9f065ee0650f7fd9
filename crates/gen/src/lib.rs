//! Synthetic registers.
