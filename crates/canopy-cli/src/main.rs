//! `canopy`: a wire-compatible AWS Organizations emulator.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod credentials;
mod logging;
mod migrate;
mod policy;
mod serve;
mod simulate;
mod what_if;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "canopy",
    version,
    about = "Canopy: a self-hosted, wire-compatible AWS Organizations emulator",
    long_about = "Canopy: a self-hosted, wire-compatible AWS Organizations emulator.\n\n\
                  Point any AWS client at it with an endpoint URL, e.g.\n  \
                  AWS_ENDPOINT_URL=http://127.0.0.1:4590 aws organizations describe-organization",
    after_help = "The server's main flags, each with an environment variable (all of them: `canopy serve --help`):\n  \
                  --listen ADDR:PORT      CANOPY_LISTEN           default 127.0.0.1:4590\n  \
                  --database PATH|memory|postgres://...\n                          \
                  CANOPY_DATABASE         default ./canopy-data/ (SQLite, durable)\n  \
                  --auth dev|strict       CANOPY_AUTH             default dev\n  \
                  --default-account ID    CANOPY_DEFAULT_ACCOUNT  default 123456789012"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (AWS Organizations API on POST /, Canopy API under /canopy/v1/).
    Serve(Box<serve::ServeArgs>),
    /// Issue credentials for strict auth (`credentials create --account ID`).
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
    /// Create or upgrade the database schema, then exit.
    Migrate(migrate::MigrateArgs),
    /// Policy tools that run offline (no server).
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Ask a running server how the SCPs and RCPs in force decide a request (POST
    /// /canopy/v1/simulate): the decision of each layer with its path as a tree, or --json.
    Simulate(Box<simulate::SimulateArgs>),
    /// Ask a running server which decisions proposed policy changes would flip (POST
    /// /canopy/v1/what-if); nothing is stored. Prints the flips as a table, or --json.
    WhatIf(what_if::WhatIfArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Credentials(cmd) => credentials::run(cmd),
        Command::Migrate(args) => migrate::run(args),
        Command::Policy(cmd) => return policy::run(cmd),
        Command::Simulate(args) => simulate::run(*args),
        Command::WhatIf(args) => what_if::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("canopy: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
