pub mod copy_button;
pub mod form_error;
pub mod header;
pub mod upload_zone;
