//! `canopy migrate --database SPEC`: creates or upgrades the schema and exits. `serve` migrates
//! at start too; this lets a deployment do it once, before starting several replicas (which are
//! safe to start at once anyway: PostgreSQL migrations are serialized by an advisory lock).

use anyhow::Context;
use clap::Args;

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The database: a SQLite directory or file path, or a postgres:// URL.
    #[arg(long, env = "CANOPY_DATABASE", value_name = "PATH|URL")]
    database: String,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let version = canopy_store::migrate(&args.database)
        .with_context(|| format!("migrating the database {}", display_spec(&args.database)))?;
    println!("schema is at version {version} ({})", display_spec(&args.database));
    Ok(())
}

/// A database spec fit for messages: a URL's password is replaced by `***`.
pub fn display_spec(spec: &str) -> String {
    let Some(scheme_end) = spec.find("://") else { return spec.to_string() };
    let rest = &spec[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => {
            format!("{}{}:***{}", &spec[..scheme_end + 3], &authority[..colon], &rest[at..])
        }
        _ => spec.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::display_spec;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(display_spec("postgres://u:pw@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(display_spec("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(display_spec("postgres://h:5432/db"), "postgres://h:5432/db");
        assert_eq!(display_spec("./canopy-data/"), "./canopy-data/");
    }
}
