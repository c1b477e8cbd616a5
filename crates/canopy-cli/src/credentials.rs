//! `canopy credentials create`, and the master key that seals issued secrets (shared with
//! `serve`).
//!
//! The master key: `--master-key HEX` (or `CANOPY_MASTER_KEY`), else `--master-key-file PATH`
//! (`CANOPY_MASTER_KEY_FILE`), else, for a SQLite database, `canopy-master.key` beside the
//! database, created (mode 0600) on first use. PostgreSQL needs the flag or a file (every
//! replica must use the same key); an in-memory database gets a key for the process.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use canopy_core::{Canopy, CoreConfig, IdSource, RandomIds};
use canopy_core::identity::{IdentityError, NewCredential};
use canopy_server::secrets::new_secret_access_key;
use canopy_server::MasterKey;
use clap::{Args, Subcommand};

/// The key file's name beside a SQLite database.
pub const KEY_FILE_NAME: &str = "canopy-master.key";

#[derive(Args, Clone, Debug, Default)]
pub struct KeyArgs {
    /// The master key sealing issued secrets: 64 hex digits. Required with PostgreSQL in strict
    /// auth and for `canopy credentials` (give every replica the same), unless --master-key-file
    /// is given.
    #[arg(long, env = "CANOPY_MASTER_KEY", value_name = "HEX", hide_env_values = true)]
    master_key: Option<String>,

    /// A file holding the master key (created, mode 0600, when missing). Default for a SQLite
    /// database: canopy-master.key beside it.
    #[arg(long, env = "CANOPY_MASTER_KEY_FILE", value_name = "PATH")]
    master_key_file: Option<PathBuf>,
}

/// Where a database spec keeps its data, when it is a SQLite file or directory.
fn sqlite_dir(database: &str) -> Option<PathBuf> {
    let file = canopy_store::sqlite_file(database)?;
    Some(file.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_path_buf))
}

/// A master key, and the key file made for it when none existed.
#[derive(Debug)]
pub struct LoadedKey {
    pub key: MasterKey,
    /// The file this call created; `None` when the key was read or given.
    pub created: Option<PathBuf>,
}

impl LoadedKey {
    /// Refuses a key that opens none of the secrets already sealed on the database: a replica
    /// given another key than the others, or a key file from another data directory, would
    /// otherwise start and then answer every issued key with an authentication error, and
    /// `credentials create` would seal new keys under it.
    ///
    /// A key made just now (`created`) that opens them is the one they were sealed with: another
    /// process (`canopy credentials create`, a second server) read the new file and issued keys
    /// between its creation and this check. One that opens none means the file was missing or its
    /// path mistyped (a backup restored without it, say): the new file is removed and the start
    /// refused, instead of every issued key failing later, one request at a time.
    pub async fn check_opens_sealed(&self, canopy: &Canopy) -> anyhow::Result<()> {
        let Some(unopened) = first_unopened(canopy, &self.key).await? else { return Ok(()) };
        let Some(path) = &self.created else { return Err(does_not_open(&unopened)) };
        let sealed = canopy.long_term_credential_count().await.map_err(|e| anyhow::anyhow!("counting credentials: {e}"))?;
        let _ = std::fs::remove_file(path);
        bail!(
            "the database holds {sealed} issued key(s), sealed with a master key, but there was no master key file at {} \
             (a new one would open none of them): restore that file, or give the key with --master-key / \
             --master-key-file",
            path.display()
        )
    }
}

/// The access key id of an issued secret `key` does not open; one stored secret is tried.
async fn first_unopened(canopy: &Canopy, key: &MasterKey) -> anyhow::Result<Option<String>> {
    for partition in canopy_api::partition::PARTITIONS {
        let keys = canopy.long_term_credentials(partition, None).await.map_err(|e| anyhow::anyhow!("reading credentials: {e}"))?;
        if let Some(issued) = keys.first() {
            let opens = key.open(&issued.access_key_id, &issued.secret_sealed).is_some();
            return Ok((!opens).then(|| issued.access_key_id.clone()));
        }
    }
    Ok(None)
}

fn does_not_open(access_key_id: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "the master key given does not open the keys issued on this database ({access_key_id} does not open): every \
         server and `canopy credentials` on one database needs the key they were sealed with \
         (--master-key / --master-key-file, or the data directory's canopy-master.key)"
    )
}

/// The master key for `database` (see the module docs), and whether its file was created just
/// now. `None`: an in-memory database, or PostgreSQL in dev auth without a key (its AssumeRole
/// sessions then verify only in this process).
pub fn master_key(args: &KeyArgs, database: &str, require: bool) -> anyhow::Result<Option<LoadedKey>> {
    if let Some(hex) = &args.master_key {
        let key = MasterKey::from_hex(hex).context("--master-key / CANOPY_MASTER_KEY")?;
        return Ok(Some(LoadedKey { key, created: None }));
    }
    let file = match (&args.master_key_file, sqlite_dir(database)) {
        (Some(f), _) => f.clone(),
        (None, Some(dir)) => dir.join(KEY_FILE_NAME),
        (None, None) => {
            let lower = database.trim().to_ascii_lowercase();
            if require && lower.starts_with("postgres") {
                bail!(
                    "a PostgreSQL database needs the master key that seals issued secrets: set --master-key \
                     (CANOPY_MASTER_KEY, 64 hex digits, e.g. from `openssl rand -hex 32`) or --master-key-file, \
                     the same for every replica"
                );
            }
            return Ok(None);
        }
    };
    let (key, created) = load_or_create(&file)?;
    Ok(Some(LoadedKey { key, created: created.then_some(file) }))
}

/// The key in `path`, or a new one written there; `true` when this call created the file.
fn load_or_create(path: &Path) -> anyhow::Result<(MasterKey, bool)> {
    let read = |path: &Path| -> anyhow::Result<MasterKey> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the master key file {}", path.display()))?;
        MasterKey::from_hex(&text).with_context(|| format!("reading the master key file {}", path.display()))
    };
    match std::fs::metadata(path) {
        // An empty file is what a crash during an earlier version's creation could leave; no
        // secret was sealed with a key that was never written, so a new one replaces it.
        Ok(meta) if meta.len() == 0 => {
            tracing::warn!(path = %path.display(), "the master key file is empty: making a new key");
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).with_context(|| format!("removing the empty master key file {}", path.display()))
                }
                _ => {}
            }
        }
        Ok(_) => return read(path).map(|k| (k, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading the master key file {}", path.display())),
    }
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
            parent.to_path_buf()
        }
        None => PathBuf::from("."),
    };
    // Written whole under a temporary name, then linked to its name: the file appears complete
    // or not at all (a crash can leave only the temporary file), and a link onto an existing
    // name fails, so of two processes creating it at once one keeps the other's key.
    let (key, hex) = MasterKey::generate();
    let tmp = dir.join(format!(".{}.{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or(KEY_FILE_NAME), std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .and_then(|mut f| f.write_all(format!("{hex}\n").as_bytes()).and_then(|()| f.sync_all()))
        .with_context(|| format!("writing the master key file {}", tmp.display()));
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // A filesystem without hard links: a rename, which is as whole but would replace a
        // file another process made in the instant since the check above.
        Err(_) if !path.exists() => {
            std::fs::rename(&tmp, path).with_context(|| format!("creating the master key file {}", path.display()))?;
            Ok(true)
        }
        Err(e) => Err(e).with_context(|| format!("creating the master key file {}", path.display())),
    });
    let _ = std::fs::remove_file(&tmp);
    if !linked? {
        // Another process (serve, or a concurrent create) made it first: use theirs.
        return read(path).map(|k| (k, false));
    }
    // The new name is durable once its directory is.
    std::fs::File::open(&dir).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", dir.display()))?;
    tracing::info!(path = %path.display(), "created the master key file");
    Ok((key, true))
}

#[derive(Subcommand)]
pub enum CredentialsCommand {
    /// Issue a long-term access key for an account (made as a standalone account when it does
    /// not exist) and print it in AWS's shared-credentials format. Works while `canopy serve`
    /// runs on the same database.
    Create(CreateArgs),
    /// List the long-term access keys issued on the database (never their secrets).
    List(ListArgs),
    /// Revoke an access key (long-term, or an AssumeRole session's): it stops verifying at once
    /// for new server processes and within one second in a running `canopy serve`.
    Revoke(RevokeArgs),
}

/// The database a credentials command works on.
#[derive(Args)]
pub struct DatabaseArg {
    /// The database `canopy serve` uses: a SQLite directory or file path, or a postgres:// URL.
    #[arg(long, env = "CANOPY_DATABASE", default_value = "./canopy-data/", value_name = "PATH|URL")]
    database: String,
}

#[derive(Args)]
pub struct ListArgs {
    /// Only the keys of this account (12 digits).
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: Option<String>,

    /// The partition of the keys (`aws`, `aws-cn`, `aws-us-gov`, …).
    #[arg(long, default_value = "aws", value_parser = parse_partition)]
    partition: String,

    #[command(flatten)]
    db: DatabaseArg,
}

fn parse_partition(s: &str) -> Result<String, String> {
    let known = canopy_api::partition::PARTITIONS;
    if known.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a partition Canopy knows ({})", known.join(", ")))
    }
}

/// A name that makes a valid `[section]` line of the shared-credentials file.
fn parse_profile(s: &str) -> Result<String, String> {
    if !s.is_empty() && !s.chars().any(|c| c.is_control() || c == '[' || c == ']') && s.trim() == s {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a profile name (not empty, no brackets, control characters or surrounding spaces)"))
    }
}

#[derive(Args)]
pub struct RevokeArgs {
    /// The access key id to revoke.
    #[arg(value_name = "ACCESS_KEY_ID")]
    access_key_id: String,

    #[command(flatten)]
    db: DatabaseArg,
}

#[derive(Args)]
pub struct CreateArgs {
    /// The account (12 digits) the key acts as.
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: String,

    /// An IAM user name for the key (its ARN is …:user/NAME); without it, the key is the
    /// account's root user.
    #[arg(long)]
    name: Option<String>,

    #[command(flatten)]
    db: DatabaseArg,

    /// The partition of the account (`aws`, `aws-cn`, `aws-us-gov`, …).
    #[arg(long, default_value = "aws", value_parser = parse_partition)]
    partition: String,

    /// The profile name in the printed credentials.
    #[arg(long, default_value = "default", value_parser = parse_profile)]
    profile: String,

    #[command(flatten)]
    key: KeyArgs,
}

pub fn run(cmd: CredentialsCommand) -> anyhow::Result<()> {
    match cmd {
        CredentialsCommand::Create(args) => create(args),
        CredentialsCommand::List(args) => list(args),
        CredentialsCommand::Revoke(args) => revoke(args),
    }
}

/// Opens `database` for a one-shot credentials command (refusing `memory`, which only a running
/// server holds) and a runtime to drive it.
/// Opens the database of a `credentials` command. `create` may make it (an issued key can come
/// before the first `serve`); `list` and `revoke` need an existing SQLite database, so that a
/// mistyped path is an error instead of a new, empty database that lists no key.
fn open_for_command(database: &str, may_create: bool) -> anyhow::Result<(Canopy, tokio::runtime::Runtime)> {
    let spec = database.trim();
    if spec == "memory" || spec == ":memory:" {
        bail!("an in-memory database lives only inside its `canopy serve` process: give the --database it uses (a path or postgres:// URL)");
    }
    if !may_create {
        if let Some(file) = canopy_store::sqlite_file(spec).filter(|f| !f.is_file()) {
            bail!("no Canopy database at {} (the --database of `canopy serve`)", file.display());
        }
    }
    let display = crate::migrate::display_spec(spec);
    let store = canopy_store::open(spec).with_context(|| format!("opening the database {display}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
    Ok((Canopy::new(store, CoreConfig::default()), runtime))
}

fn list(args: ListArgs) -> anyhow::Result<()> {
    if let Some(account) = &args.account {
        if !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())) {
            bail!("--account {account:?} must be 12 digits");
        }
    }
    let (canopy, runtime) = open_for_command(&args.db.database, false)?;
    let keys = runtime
        .block_on(canopy.long_term_credentials(&args.partition, args.account.as_deref()))
        .map_err(|_| anyhow::anyhow!("the database could not be read (see the log)"))?;
    println!("{:<20}  {:<12}  {:<24}  PRINCIPAL", "ACCESS_KEY_ID", "ACCOUNT", "CREATED (UTC)");
    for key in &keys {
        let created = canopy_server::iso8601(key.created_ms);
        let arn = canopy_core::identity::Principal::of(key).arn();
        println!("{:<20}  {:<12}  {:<24}  {arn}", key.access_key_id, key.account_id, created);
    }
    eprintln!("canopy: {} long-term key(s)", keys.len());
    Ok(())
}

fn revoke(args: RevokeArgs) -> anyhow::Result<()> {
    let (canopy, runtime) = open_for_command(&args.db.database, false)?;
    let revoked = runtime
        .block_on(canopy.revoke_credential(&args.access_key_id))
        .map_err(|_| anyhow::anyhow!("the database refused the write (see the log)"))?;
    match revoked {
        Some(record) => {
            let arn = canopy_core::identity::Principal::of(&record).arn();
            eprintln!("canopy: revoked {} of {arn}", record.access_key_id);
            Ok(())
        }
        None => bail!("no access key {:?} on this database", args.access_key_id),
    }
}

fn create(args: CreateArgs) -> anyhow::Result<()> {
    let (canopy, runtime) = open_for_command(&args.db.database, true)?;
    let loaded = master_key(&args.key, args.db.database.trim(), true)?.context("no master key for this database")?;
    runtime.block_on(loaded.check_opens_sealed(&canopy))?;
    let key = loaded.key;
    let access_key_id = RandomIds.access_key_id("AKIA");
    let secret = new_secret_access_key();
    let new = NewCredential { secret_sealed: key.seal(&access_key_id, &secret), access_key_id: access_key_id.clone(), session_token_sha256: None };
    let record = runtime
        .block_on(canopy.create_credential(&args.partition, &args.account, args.name.as_deref(), new))
        .map_err(|e| match e {
            IdentityError::Validation(m) | IdentityError::AccessDenied(m) | IdentityError::MalformedPolicy(m) | IdentityError::PolicyTooLarge(m) => anyhow::anyhow!(m),
            IdentityError::Internal(_) => anyhow::anyhow!("the database refused the write (see the log)"),
        })?;
    let arn = canopy_core::identity::Principal::of(&record).arn();
    eprintln!("canopy: issued {access_key_id} for {arn}");
    println!("[{}]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}", args.profile);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_once_with_private_mode_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("{}/", dir.path().join("data").display());
        let a = master_key(&KeyArgs::default(), &db, true).unwrap().unwrap();
        let path = dir.path().join("data").join(KEY_FILE_NAME);
        assert!(path.exists());
        assert_eq!(a.created.as_deref(), Some(path.as_path()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let b = master_key(&KeyArgs::default(), &db, true).unwrap().unwrap();
        assert!(b.created.is_none(), "read, not made");
        let sealed = a.key.seal("AKIAX", "secret");
        assert_eq!(b.key.open("AKIAX", &sealed).as_deref(), Some("secret"));
    }

    /// Issues one long-term key for `account`, sealed with `key`.
    fn issue(canopy: &Canopy, runtime: &tokio::runtime::Runtime, key: &MasterKey, account: &str) {
        let access_key_id = RandomIds.access_key_id("AKIA");
        let new = NewCredential { secret_sealed: key.seal(&access_key_id, "secret"), access_key_id, session_token_sha256: None };
        runtime.block_on(canopy.create_credential("aws", account, None, new)).unwrap();
    }

    #[test]
    fn a_new_key_that_sealed_what_is_stored_is_kept() {
        // Another process read the file this one just made and issued keys with it before the
        // check: the new key opens them, so nothing is refused or removed.
        let dir = tempfile::tempdir().unwrap();
        let db = format!("{}/", dir.path().join("data").display());
        let fresh = master_key(&KeyArgs::default(), &db, true).unwrap().unwrap();
        let (canopy, runtime) = open_for_command(&db, true).unwrap();
        runtime.block_on(fresh.check_opens_sealed(&canopy)).expect("nothing sealed yet: the new key is the first");
        issue(&canopy, &runtime, &fresh.key, "111111111111");
        runtime.block_on(fresh.check_opens_sealed(&canopy)).expect("sealed with this very key");
        assert!(fresh.created.as_ref().unwrap().exists());
    }

    #[test]
    fn a_new_key_over_credentials_it_does_not_open_is_refused_and_its_file_removed() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("{}/", dir.path().join("data").display());
        let first = master_key(&KeyArgs::default(), &db, true).unwrap().unwrap();
        let (canopy, runtime) = open_for_command(&db, true).unwrap();
        issue(&canopy, &runtime, &first.key, "111111111111");
        issue(&canopy, &runtime, &first.key, "222222222222");
        let path = first.created.clone().unwrap();
        std::fs::remove_file(&path).unwrap();
        let again = master_key(&KeyArgs::default(), &db, true).unwrap().unwrap();
        let e = runtime.block_on(again.check_opens_sealed(&canopy)).unwrap_err();
        assert!(e.to_string().contains("2 issued key(s)") && e.to_string().contains("--master-key"), "{e}");
        assert!(!path.exists(), "the refused key's file is removed");
        // A key read from a file (or given) that opens nothing is refused too, its file kept.
        std::fs::write(&path, format!("{}\n", "22".repeat(32))).unwrap();
        let read = master_key(&KeyArgs::default(), &db, true).unwrap().unwrap();
        assert!(read.created.is_none());
        let e = runtime.block_on(read.check_opens_sealed(&canopy)).unwrap_err();
        assert!(e.to_string().contains("does not open the keys issued on this database"), "{e}");
        assert!(path.exists());
    }

    #[test]
    fn postgres_needs_a_key_and_memory_has_none() {
        let e = master_key(&KeyArgs::default(), "postgres://u@h/db", true).unwrap_err();
        assert!(e.to_string().contains("--master-key"), "{e}");
        assert!(master_key(&KeyArgs::default(), "postgres://u@h/db", false).unwrap().is_none());
        assert!(master_key(&KeyArgs::default(), "memory", true).unwrap().is_none());
        let hex = "11".repeat(32);
        let args = KeyArgs { master_key: Some(hex), master_key_file: None };
        assert!(master_key(&args, "postgres://u@h/db", true).unwrap().is_some());
        let bad = KeyArgs { master_key: Some("zz".into()), master_key_file: None };
        assert!(master_key(&bad, "memory", false).is_err());
    }
}
