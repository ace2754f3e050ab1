//! placeholder while building
pub fn to_pytorch(_c: &crate::Config) -> String {
    String::new()
}
