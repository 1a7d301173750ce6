pub mod copy_button;
pub mod form_error;
pub mod header;
pub mod scan_poll;
pub mod upload_zone;
