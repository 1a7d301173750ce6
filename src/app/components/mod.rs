pub mod copy_button;
pub mod form_error;
pub mod header;
pub mod scan_poll;
pub mod sign_in_card;
pub mod transfer_chart;
pub mod upload_zone;
pub mod usage_bar;
