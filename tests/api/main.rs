//! Integration tests: the real app on a random port, with mockito playing Instagram.
//! One module per API surface, as in `src/routes`.

mod helpers;
mod validate;
