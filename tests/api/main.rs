//! Black-box tests: each starts a real Coffer on a random port with its own database (a temp
//! SQLite file, or a fresh PostgreSQL database when `COFFER_TEST_POSTGRES_URL` is set) and, when
//! `COFFER_TEST_REDIS_URL` is set, sessions and rate limits in a real Redis.

mod client;
mod helpers;

mod accounts;
mod admin;
mod admin_files;
mod admin_pages;
mod audit;
mod auth_tokens;
mod clamav;
mod contract;
mod files;
mod metrics;
mod migrations;
mod multi_shares;
mod platform;
mod proxies;
mod quotas;
mod request_limits;
mod requests;
mod rotation;
mod scan_jobs;
mod security;
mod shares;
mod site;
mod two_factor;
mod uploads;
mod web;
mod webhooks;
