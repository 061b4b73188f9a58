//! The checker checked: a record's differences name exactly the fields that differ, and a store
//! with a defect on its disk fails the behaviours that cover it, naming the field.

mod defects;
mod differences;
mod disk;
