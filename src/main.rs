//! The `coffer` binary: serves by default; operator commands as subcommands.

use std::io::BufRead;

use clap::{Parser, Subcommand};
use coffer::server::{
    clock::Clock,
    config::Settings,
    probe,
    service::{
        accounts::{self, Registration},
        key_rotation,
    },
    startup::{self, Application},
};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "coffer",
    version,
    about = "Self-hosted secure file transfer and sharing"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and the REST API (the default).
    Serve,
    /// Create an admin account. The password is read from COFFER_ADMIN_PASSWORD or, if unset,
    /// from the first line of standard input (so it never appears in the process list).
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
    },
    /// Re-wrap every file's data key under a new master key; blobs are not touched. With the key
    /// file in the data directory a new key is generated (the old one stays readable until the
    /// end). With COFFER_MASTER_KEY, list the new key first and the old one after it
    /// (COFFER_MASTER_KEY=new,old) on every instance, then run this.
    RotateMasterKey,
    /// Exit 0 if this instance (at LEPTOS_SITE_ADDR) answers /ready with 200, else 1: for
    /// container health checks, where there is no curl.
    Healthcheck,
}

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn,fred=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if std::env::var("COFFER_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// What an operator at the terminal is told: the sentence a client would see, and for a failure
/// on the server its whole cause (the operator may see paths and SQL; a client never does).
fn cli_error(e: &coffer::server::error::Error) -> String {
    match e.status().is_server_error() {
        true => e.chain(),
        false => e.detail(),
    }
}

/// Two glibc allocator settings for streaming, where every transfer allocates and frees the same
/// sizes over and over:
/// - buffers of a MiB and more go back to the system when freed. By default glibc's mmap
///   threshold rises to the size of the largest buffer freed so far (up to 32 MiB), after which
///   buffers such as an S3 upload's 5 MiB parts come from per-thread heaps that keep their
///   pages: a 1 GiB upload to S3 then peaked at 73 MiB of RSS instead of 48;
/// - up to 1 MiB free at the top of a heap stays there. Setting the mmap threshold also fixes
///   the trim threshold at its 128 KiB default, so each freed 256 KiB read buffer was handed
///   back and the next one faulted its pages in again, zeroed: a tenth of a download's CPU
///   (`perf`), and 1 GiB downloads ran 13% faster without it at the same peak RSS
///   (`scripts/bench.sh`, part "peer").
/// - one heap for every thread. glibc gives threads heaps of their own (up to eight per core),
///   and a buffer stays in the heap of the thread that allocated it: the blocking threads that
///   read from the disk grew heaps of their own, each keeping its free megabyte. With one heap
///   alone, each download past the first added 1.03 to 1.10 MiB to the peak instead of 1.14 to
///   1.50, each upload 0.83 to 1.14 instead of 1.09 to 1.23, and 16 at once peaked 3 to 6 MiB
///   lower, at the same throughput (`scripts/bench.sh`, part "concurrent"). Threads still take
///   small blocks from caches of their own (glibc's tcache) without the heap's lock, and a
///   transfer takes a buffer from the heap once per 64 to 256 KiB it moves.
///
/// Smaller buffers (64 KiB segments, 256 KiB reads) stay on the heap, reused without a syscall.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; it is called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

fn main() -> std::process::ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tune_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(run_main())
}

async fn run_main() -> std::process::ExitCode {
    init_tracing();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("coffer: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let settings = Settings::load().map_err(|e| e.to_string())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Healthcheck => {
            let answer =
                probe::ready(settings.site.addr, std::time::Duration::from_secs(5)).await?;
            println!("{answer}");
            Ok(())
        }
        Command::Serve => {
            let app = Application::build(settings, Clock::system())
                .await
                .map_err(|e| e.to_string())?;
            app.run_until(startup::shutdown_signal())
                .await
                .map_err(|e| format!("server error: {e}"))
        }
        Command::CreateAdmin { email, username } => {
            let password = match std::env::var("COFFER_ADMIN_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    eprintln!("Password for {username} (one line on standard input):");
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .map_err(|e| e.to_string())?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let (state, _) = startup::build_state(settings, Clock::system())
                .await
                .map_err(|e| e.to_string())?;
            let user = accounts::create_admin(
                &state,
                Registration {
                    email,
                    username,
                    password,
                },
            )
            .await
            .map_err(|e| cli_error(&e))?;
            println!(
                "Created admin {} <{}> (id {})",
                user.username, user.email, user.id
            );
            Ok(())
        }
        Command::RotateMasterKey => {
            let (state, _) = startup::build_state(settings, Clock::system())
                .await
                .map_err(|e| e.to_string())?;
            let rotation = key_rotation::rotate(&state)
                .await
                .map_err(|e| cli_error(&e))?;
            println!(
                "Master key is now {}; re-wrapped {} file key(s), {} TOTP secret(s) and {} webhook secret(s).",
                rotation.new_key_id,
                rotation.rewrapped,
                rotation.totp_rewrapped,
                rotation.webhooks_rewrapped
            );
            if !rotation.failed.is_empty()
                || !rotation.totp_failed.is_empty()
                || !rotation.webhooks_failed.is_empty()
            {
                return Err(format!(
                    "Left as they were, since no loaded key opens them: {} file key(s) ({}), the TOTP secrets of {} user(s) ({}) and {} webhook secret(s) ({})",
                    rotation.failed.len(),
                    rotation.failed.join(", "),
                    rotation.totp_failed.len(),
                    rotation.totp_failed.join(", "),
                    rotation.webhooks_failed.len(),
                    rotation.webhooks_failed.join(", ")
                ));
            }
            if !rotation.retired.is_empty() {
                println!(
                    "Nothing needs these keys any more: {}.",
                    rotation.retired.join(", ")
                );
            }
            for (id, rows) in &rotation.still_needed {
                println!(
                    "Key {id} still seals {rows} value(s) (sealed by a server that did not yet \
                     have the new key): keep it, and run the rotation again once every server has it."
                );
            }
            Ok(())
        }
    }
}
