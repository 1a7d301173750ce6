pub mod admin;
pub mod files;
pub mod home;
pub mod login;
pub mod not_found;
pub mod register;
pub mod security;
pub mod share;
