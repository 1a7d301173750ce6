pub mod form_error;
pub mod header;
