use crate::c::C;

pub struct E(pub C);
