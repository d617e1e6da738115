use crate::d::{e::E};

pub struct C(pub Option<Box<E>>);
