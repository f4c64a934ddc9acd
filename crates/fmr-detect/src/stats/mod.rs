//! The statistics the detectors share. Each routine is O(n) or O(n log n) in the points it is
//! given, and the quadratic ones (pairwise trend tests, autocorrelation, PELT's worst case) only
//! ever see downsampled curves of bounded length.

pub mod acf;
pub mod changepoint;
pub mod onset;
pub mod pelt;
pub mod robust;
pub mod smooth;
pub mod trend;
