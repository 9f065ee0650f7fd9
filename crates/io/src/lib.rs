//! Reading register files into checked households, and writing results.
