//! Database URLs and connections: where the URL comes from, which backend it names,
//! how it is shown (never with its password), and how a connection is opened.

use std::path::PathBuf;

use sea_orm_migration::sea_orm::DbBackend;

use crate::error::{Error, Result};

/// A parsed database URL. `Display` masks the password.
#[derive(Clone)]
pub struct DbUrl {
    pub(crate) raw: String,
    backend: DbBackend,
    /// Every password the URL holds (userinfo, `?password=`), as written.
    passwords: Vec<String>,
    /// The PostgreSQL schema (or comma-separated list) every connection's
    /// `search_path` is set to, as sea-orm-migration's `-s` sets it.
    schema: Option<String>,
}

impl DbUrl {
    /// Parses a database URL: `sqlite:`, `postgres://`/`postgresql://` or
    /// `mysql://`/`mariadb://`, with a backend compiled into this build.
    pub fn parse(raw: &str) -> Result<DbUrl> {
        let raw = raw.trim().to_string();
        let scheme = raw.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        let backend = match scheme.as_deref() {
            Some("sqlite") => DbBackend::Sqlite,
            Some("postgres" | "postgresql") => DbBackend::Postgres,
            Some("mysql" | "mariadb") => DbBackend::MySql,
            Some(other) if !other.is_empty() && !other.contains(['/', '@']) => {
                return Err(Error::Config(format!(
                    "unsupported database URL scheme `{other}:`; expected `sqlite:`, `postgres://` or `mysql://`"
                )));
            }
            _ => {
                return Err(Error::Config(format!(
                    "`{}` is not a database URL; expected one like `sqlite://app.db`, `postgres://user@host/db` or `mysql://user@host/db`",
                    mask(&raw)
                )));
            }
        };
        if backend != DbBackend::Sqlite {
            check_server_url(&raw, scheme.as_deref().unwrap_or_default())?;
        }
        if !backend_compiled(backend) {
            return Err(Error::Config(not_compiled(backend)));
        }
        let passwords = passwords_of(&raw);
        let mut url = DbUrl {
            raw,
            backend,
            passwords,
            schema: None,
        };
        if backend == DbBackend::Sqlite && url.raw.starts_with("sqlite:") && url.raw.len() == 7 {
            return Err(Error::Config(
                "`sqlite:` names no file: expected `sqlite://path/to/file.db` or `sqlite::memory:`"
                    .to_string(),
            ));
        }
        url.raw = url.raw.replacen("mariadb:", "mysql:", 1);
        Ok(url)
    }

    /// Which database the URL names.
    pub fn backend(&self) -> DbBackend {
        self.backend
    }

    /// `self` in the PostgreSQL schema `schema` (sea-orm-migration's
    /// `-s/--database-schema`: one name, or a comma-separated list whose first name
    /// holds what is created): every connection's `search_path` is set to it, so the
    /// tracking tables, the lock and the migrations' own tables are all in it. `None`
    /// or empty: no schema, the server's own search path. MySQL/MariaDB and SQLite have
    /// no schemas: a clear error rather than a database other than the one meant.
    pub fn with_schema(mut self, schema: Option<String>) -> Result<DbUrl> {
        let Some(schema) = schema.filter(|s| !s.is_empty()) else {
            self.schema = None;
            return Ok(self);
        };
        match self.backend {
            DbBackend::Postgres => {
                schema_names(&schema).map_err(Error::Config)?;
                self.schema = Some(schema);
                Ok(self)
            }
            DbBackend::MySql => Err(Error::Config(format!(
                "`--database-schema {schema}` (or DATABASE_SCHEMA) selects a PostgreSQL schema; a \
                 MySQL/MariaDB schema is a database: name it in the URL \
                 (`mysql://user@host/{schema}`) and unset the schema"
            ))),
            _ => Err(Error::Config(format!(
                "`--database-schema {schema}` (or DATABASE_SCHEMA) selects a PostgreSQL schema; a \
                 SQLite database has none: unset the schema"
            ))),
        }
    }

    /// The same server, user and options, database `name` (a server URL's path).
    pub(crate) fn with_database(&self, name: &str) -> DbUrl {
        let (base, query) = match self.raw.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (self.raw.as_str(), None),
        };
        let authority = base.find("://").map_or(0, |i| i + 3);
        let path = base[authority..]
            .find('/')
            .map_or(base.len(), |i| authority + i);
        let mut raw = format!("{}/{name}", &base[..path]);
        if let Some(q) = query {
            raw.push('?');
            raw.push_str(q);
        }
        DbUrl {
            raw,
            ..self.clone()
        }
    }

    /// The database a server URL names (its path), if it names one.
    pub(crate) fn database(&self) -> Option<String> {
        let base = self.raw.split('?').next().unwrap_or_default();
        let authority = base.find("://").map_or(0, |i| i + 3);
        let name = base[authority..].split_once('/')?.1;
        (!name.is_empty()).then(|| name.to_string())
    }

    /// The schema (as given) every connection's search path is set to.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// The schema that holds what is created: the first of [`DbUrl::schema`].
    pub(crate) fn creation_schema(&self) -> Option<String> {
        let names = schema_names(self.schema.as_deref()?).ok()?;
        names.into_iter().next()
    }

    /// `SET search_path = ...` for [`DbUrl::schema`], quoted as sea-orm does.
    pub(crate) fn search_path_sql(&self) -> Option<String> {
        let names = schema_names(self.schema.as_deref()?).ok()?;
        let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        Some(format!("SET search_path = {}", quoted.join(",")))
    }

    /// The URL alone (no schema), password masked, for JSON's `database`.
    pub fn masked(&self) -> String {
        mask(&self.raw)
    }

    /// `self` as the project's own default database (`.env`, configuration): a writing
    /// verb creates its SQLite file if it is missing, as if the URL said `mode=rwc`.
    pub fn as_project_default(mut self) -> DbUrl {
        if self.sqlite_file().is_some() && !self.has_query_param("mode") {
            self.raw = self.with_query_param("mode=rwc");
        }
        self
    }

    /// A missing SQLite file may be created: the URL says `mode=rwc`.
    pub(crate) fn creates_missing_file(&self) -> bool {
        self.query_param("mode") == Some("rwc")
    }

    /// The URL with its password, for the driver only.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The file of a SQLite URL (`None` for in-memory databases and other backends).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        if self.backend != DbBackend::Sqlite {
            return None;
        }
        let (path, query) = split_sqlite(&self.raw)?;
        let query = query.unwrap_or_default();
        if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
            return None;
        }
        Some(PathBuf::from(path))
    }

    /// A database on this machine: a SQLite file, or a server on a loopback address or a
    /// Unix socket.
    pub fn is_local(&self) -> bool {
        if self.backend == DbBackend::Sqlite {
            return true;
        }
        let host = host_and_port(&self.raw).map_or("", |(host, _)| host);
        match host.to_ascii_lowercase().as_str() {
            "localhost" => true,
            // `postgres:///db?host=/run/postgresql` is a socket; `?host=db.example` is not
            "" => {
                self.query_param("socket").is_some()
                    || self.query_param("host").is_some_and(|h| h.starts_with('/'))
            }
            h => h
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()),
        }
    }

    /// The host and port of a server URL reached over TCP (not a Unix socket).
    pub(crate) fn tcp_address(&self) -> Option<(String, u16)> {
        let default_port = match self.backend {
            DbBackend::Postgres => 5432,
            DbBackend::MySql => 3306,
            _ => return None,
        };
        if self.has_query_param("host") || self.has_query_param("socket") {
            return None;
        }
        let (host, port) = host_and_port(&self.raw)?;
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => default_port,
        };
        (!host.is_empty()).then(|| (percent_decode(host), port))
    }

    fn query_param(&self, name: &str) -> Option<&str> {
        let (_, query) = self.raw.split_once('?')?;
        query.split('&').find_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v)
        })
    }

    fn has_query_param(&self, name: &str) -> bool {
        self.raw
            .split_once('?')
            .is_some_and(|(_, q)| q.split('&').any(|kv| kv.split('=').next() == Some(name)))
    }

    fn with_query_param(&self, param: &str) -> String {
        let sep = if self.raw.contains('?') { '&' } else { '?' };
        format!("{}{sep}{param}", self.raw)
    }

    /// Removes the password (raw and percent-decoded) from any text, such as a driver's
    /// error message.
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.replace(&self.raw, &mask(&self.raw));
        for pw in self.passwords.iter().filter(|p| !p.is_empty()) {
            text = text.replace(pw.as_str(), "***");
            let decoded = percent_decode(pw);
            if !decoded.is_empty() {
                text = text.replace(&decoded, "***");
            }
        }
        text
    }
}

/// The URL, password masked, and the schema if there is one: which database and where
/// in it.
impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&mask(&self.raw))?;
        match &self.schema {
            Some(schema) => write!(f, " (schema {schema})"),
            None => Ok(()),
        }
    }
}

/// The names of a schema list as sea-orm-migration's `-s` takes it (`app`,
/// `app,public`, `"My App"`): comma-separated, each quoted or not; the message says
/// what is wrong with it.
fn schema_names(schema: &str) -> std::result::Result<Vec<String>, String> {
    schema
        .split(',')
        .map(|part| {
            let name = part
                .strip_prefix('"')
                .and_then(|p| p.strip_suffix('"'))
                .unwrap_or(part);
            if name.is_empty() || name.contains(['"', '\0']) || name.len() > 63 {
                Err(format!(
                    "`{}` is not a schema name: expected a name of 1 to 63 characters without `\"` \
                     (or a comma-separated list of them)",
                    crate::text::one_line(schema)
                ))
            } else {
                Ok(name.to_string())
            }
        })
        .collect()
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({self})")
    }
}

/// The backend as people call it (`PostgreSQL`, `MySQL/MariaDB`, `SQLite`).
pub(crate) fn backend_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "PostgreSQL",
        DbBackend::MySql => "MySQL/MariaDB",
        _ => "SQLite",
    }
}

/// cargo-migrate's cargo feature for `backend` (`postgres`, `mysql`, `sqlite`): the one
/// place the names live, for the runtime's messages and the subcommand's manifests.
pub(crate) fn feature_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "postgres",
        DbBackend::MySql => "mysql",
        _ => "sqlite",
    }
}

/// The `src` directory of the migration crate this binary was built from, as its
/// `Migrations` impl says: to name the manifest line a missing backend is enabled on.
static CRATE_SOURCE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Remembers where this binary's migration crate lives (set once, by `Runtime::of`).
pub fn remember_crate_source(dir: &'static str) {
    let _ = CRATE_SOURCE.set(dir);
}

/// "Built without PostgreSQL support", with the file and line that enables it: the
/// line of the crate's manifest that declares its `cargo-migrate` dependency.
fn not_compiled(backend: DbBackend) -> String {
    let feature = feature_name(backend);
    let manifest = CRATE_SOURCE
        .get()
        .map(|dir| std::path::Path::new(dir).with_file_name("Cargo.toml"));
    let place = match &manifest {
        Some(path) => match std::fs::read_to_string(path)
            .ok()
            .and_then(|text| runtime_dependency_line(&text))
        {
            Some(line) => format!("{}:{line}", path.display()),
            None => path.display().to_string(),
        },
        None => "the migration crate's Cargo.toml".to_string(),
    };
    format!(
        "this migration binary was built without {} support; add `\"{feature}\"` to the \
         `features` of its `cargo-migrate` dependency ({place}), then run it again",
        backend_name(backend),
    )
}

/// The 1-based line of a manifest that declares the `cargo-migrate` dependency (the
/// `features` line of a `[dependencies.cargo-migrate]` table, if it has one).
fn runtime_dependency_line(manifest: &str) -> Option<usize> {
    let mut in_table = false;
    let mut table_line = None;
    for (i, line) in manifest.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            if in_table {
                break;
            }
            in_table = line.replace(' ', "") == "[dependencies.cargo-migrate]";
            table_line = in_table.then_some(i + 1);
        } else if (in_table && line.starts_with("features"))
            || (!in_table
                && (line.starts_with("cargo-migrate ") || line.starts_with("cargo-migrate=")))
        {
            return Some(i + 1);
        }
    }
    table_line
}

fn backend_compiled(backend: DbBackend) -> bool {
    match backend {
        DbBackend::Postgres => cfg!(feature = "postgres"),
        DbBackend::MySql => cfg!(feature = "mysql"),
        _ => cfg!(feature = "sqlite"),
    }
}

/// A server URL must name a host (or a socket) and, if any, a port that is a number.
fn check_server_url(raw: &str, scheme: &str) -> Result<()> {
    let form = format!("expected `{scheme}://[user[:password]@]host[:port]/database`");
    let Some((host, port)) = host_and_port(raw) else {
        return Err(Error::Config(format!(
            "`{}` is not a database URL: {form}",
            mask(raw)
        )));
    };
    let socket = raw.contains("host=") || raw.contains("socket=");
    if host.is_empty() && !socket {
        return Err(Error::Config(format!(
            "`{}` names no host: {form}",
            mask(raw)
        )));
    }
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(Error::Config(format!(
            "`{}` has port `{port}`: expected a number from 1 to 65535",
            mask(raw)
        )));
    }
    Ok(())
}

/// The path and the query of a `sqlite:` URL (`sqlite://app.db?mode=rwc` →
/// `app.db`, `mode=rwc`); `None` for other URLs.
pub fn split_sqlite(raw: &str) -> Option<(&str, Option<&str>)> {
    let rest = raw.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    Some(match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    })
}

/// The host (brackets of an IPv6 address removed) and the port, as written, of a
/// `scheme://[userinfo@]host[:port]/...` URL; `None` without `://`.
fn host_and_port(raw: &str) -> Option<(&str, Option<&str>)> {
    let rest = &raw[raw.find("://")? + 3..];
    let (_, hostport) = split_userinfo(rest);
    let hostport = &hostport[..hostport.find(['/', '?', '#']).unwrap_or(hostport.len())];
    Some(match hostport.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => (v6, None),
        },
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    })
}

/// `user:password` and the rest of what follows the scheme: the userinfo ends at the
/// last `@`, so a password with an unencoded `/`, `?`, `#` or `@` stays whole.
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    // The last `@` before the query, unless the query start is inside the password.
    let before_query = rest.find('?').and_then(|q| rest[..q].rfind('@'));
    match before_query.or_else(|| rest.rfind('@')) {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

/// Where what follows a URL's scheme starts: after `scheme:/` and any more slashes,
/// or at the first character that is not a slash when there is no scheme.
fn after_scheme(url: &str) -> usize {
    let scheme_len = url
        .char_indices()
        .take_while(|&(i, c)| {
            c.is_ascii_alphabetic() || (i > 0 && (c.is_ascii_alphanumeric() || "+.-".contains(c)))
        })
        .count();
    // `scheme:/`: a scheme; `user:password@` without a slash is not one.
    let start = if scheme_len > 0 && url[scheme_len..].starts_with(":/") {
        scheme_len + 1
    } else {
        0
    };
    start + url[start..].bytes().take_while(|&b| b == b'/').count()
}

/// Query parameters that carry a password.
fn is_password_param(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "password" | "pass" | "pwd" | "sslpassword"
    )
}

/// Every password in `url`: the userinfo's and any `?password=`.
fn passwords_of(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    let start = after_scheme(url);
    if let (Some(userinfo), _) = split_userinfo(&url[start..])
        && let Some((_, pw)) = userinfo.split_once(':')
    {
        out.push(pw.to_string());
    }
    if let Some((_, query)) = url.split_once('?') {
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=')
                && is_password_param(k)
            {
                out.push(v.to_string());
            }
        }
    }
    out
}

/// The URL with every password replaced by `***`. Malformed URLs too: whatever stands
/// between the scheme and the last `@` after a `:` is taken for a password.
pub fn mask(url: &str) -> String {
    let start = after_scheme(url);
    let masked = match split_userinfo(&url[start..]) {
        (Some(userinfo), rest) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{}{user}:***@{rest}", &url[..start]),
            None => url.to_string(),
        },
        (None, _) => url.to_string(),
    };
    match masked.split_once('?') {
        Some((head, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if is_password_param(k) => format!("{k}=***"),
                    _ => pair.to_string(),
                })
                .collect();
            format!("{head}?{}", query.join("&"))
        }
        None => masked,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_database_on_the_same_server() {
        let url = DbUrl::parse("mysql://root:pw@127.0.0.1:3306/app?ssl-mode=disabled").unwrap();
        assert_eq!(url.database().as_deref(), Some("app"));
        let other = url.with_database("app_dry");
        assert_eq!(
            other.expose(),
            "mysql://root:pw@127.0.0.1:3306/app_dry?ssl-mode=disabled"
        );
        assert_eq!(other.masked(), url.masked().replace("/app?", "/app_dry?"));
        let bare = DbUrl::parse("mysql://root@localhost").unwrap();
        assert_eq!(bare.database(), None);
        assert_eq!(bare.with_database("x").expose(), "mysql://root@localhost/x");
    }

    #[test]
    fn a_backend_left_out_names_the_manifest_line_that_enables_it() {
        let dir = std::env::temp_dir().join(format!("cm-features-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"m\"\n\n[dependencies]\ncargo-migrate = { version = \"0.1\", features = [\"sqlite\"] }\n",
        )
        .unwrap();
        let src: &'static str = Box::leak(dir.join("src").display().to_string().into_boxed_str());
        remember_crate_source(src);
        let message = not_compiled(DbBackend::Postgres);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            message,
            format!(
                "this migration binary was built without PostgreSQL support; add `\"postgres\"` to \
                 the `features` of its `cargo-migrate` dependency ({}:5), then run it again",
                dir.join("Cargo.toml").display()
            )
        );
    }

    #[test]
    fn the_manifest_line_of_the_runtime_dependency_is_found() {
        let inline = "[package]\nname = \"m\"\n\n[dependencies]\nserde = \"1\"\ncargo-migrate = { version = \"0.1\", features = [\"sqlite\"] }\n";
        assert_eq!(runtime_dependency_line(inline), Some(6));
        let table = "[package]\nname = \"m\"\n\n[dependencies.cargo-migrate]\nversion = \"0.1\"\nfeatures = [\"sqlite\"]\n\n[dependencies.x]\nfeatures = []\n";
        assert_eq!(runtime_dependency_line(table), Some(6));
        let bare = "[dependencies.cargo-migrate]\nversion = \"0.1\"\n";
        assert_eq!(runtime_dependency_line(bare), Some(1));
        assert_eq!(
            runtime_dependency_line("[dependencies]\ncargo-migrate-x = 1\n"),
            None
        );
    }

    #[test]
    fn malformed_urls_never_show_their_password() {
        for url in [
            "postgres//u:Pw1@127.0.0.1/x",
            "postgres:/u:Pw1@127.0.0.1/x",
            "mysql:///x?password=Pw1",
            "postgres://u@127.0.0.1:1/x?sslmode=disable&PASSWORD=Pw1",
            "postgres://u:Pw1/has/slashes?and#more@127.0.0.1:1/x",
            "u:Pw1@host/db",
        ] {
            assert!(!mask(url).contains("Pw1"), "{url} -> {}", mask(url));
        }
        let url = DbUrl::parse("postgres://u:Pw1/x@127.0.0.1:1/x?password=Pw2").unwrap();
        assert_eq!(url.scrub("a Pw1/x b Pw2 c"), "a *** b *** c");
    }

    #[test]
    fn a_server_url_needs_a_host_and_a_numeric_port() {
        for (url, needle) in [
            ("postgres://postgres@127.0.0.1:99999/x", "port `99999`"),
            ("mysql://root@127.0.0.1:port/x", "port `port`"),
            ("postgres://u:pw@/db", "names no host"),
            ("postgres://", "names no host"),
        ] {
            let err = DbUrl::parse(url).unwrap_err().to_string();
            assert!(
                err.contains(needle) && !err.contains(":pw@"),
                "{url}: {err}"
            );
        }
        assert!(DbUrl::parse("postgres://u@[::1]:5432/db").is_ok());
        let url = DbUrl::parse("postgres://u:pw@h:5432/db?application_name=svc@prod").unwrap();
        assert_eq!(url.tcp_address(), Some(("h".to_string(), 5432)));
        assert!(!url.to_string().contains("pw"));
        assert!(DbUrl::parse("postgres:///db?host=/var/run/postgresql").is_ok());
    }

    #[test]
    fn local_means_this_machine() {
        for (url, local) in [
            ("sqlite://a.db", true),
            ("postgres://u@localhost/db", true),
            ("postgres://u@127.0.0.1/db", true),
            ("postgres://u@[::1]/db", true),
            ("postgres:///db?host=/run/postgresql", true),
            ("postgres:///db?host=db.prod.internal", false),
            ("postgres://u@127.example.com/db", false),
            ("mysql://u@db.example:3306/db", false),
        ] {
            assert_eq!(DbUrl::parse(url).unwrap().is_local(), local, "{url}");
        }
    }

    #[test]
    fn masks_passwords_and_keeps_the_rest() {
        assert_eq!(
            mask("postgres://app:s3cret@db:5432/prod?sslmode=require"),
            "postgres://app:***@db:5432/prod?sslmode=require"
        );
        assert_eq!(mask("postgres://app@db/prod"), "postgres://app@db/prod");
        assert_eq!(mask("sqlite://app.db"), "sqlite://app.db");
        assert_eq!(mask("mysql://u:p@ss@h/d"), "mysql://u:***@h/d");
    }

    #[test]
    fn scrub_removes_raw_and_decoded_passwords() {
        let url = DbUrl::parse("postgres://app:p%40ss@localhost/db").unwrap();
        assert_eq!(
            url.scrub("auth failed for p%40ss / p@ss"),
            "auth failed for *** / ***"
        );
        assert_eq!(url.to_string(), "postgres://app:***@localhost/db");
    }

    #[test]
    fn recognises_backends_and_rejects_the_rest() {
        assert_eq!(
            DbUrl::parse("sqlite://a.db").unwrap().backend(),
            DbBackend::Sqlite
        );
        assert_eq!(
            DbUrl::parse("postgresql://u@h/d").unwrap().backend(),
            DbBackend::Postgres
        );
        assert_eq!(
            DbUrl::parse("mariadb://u@h/d").unwrap().backend(),
            DbBackend::MySql
        );
        let err = DbUrl::parse("oracle://u:pw@h/d").unwrap_err().to_string();
        assert_eq!(
            err,
            "unsupported database URL scheme `oracle:`; expected `sqlite:`, `postgres://` or `mysql://`"
        );
        let err = DbUrl::parse("just-a-path.db").unwrap_err().to_string();
        assert!(
            err.starts_with("`just-a-path.db` is not a database URL"),
            "{err}"
        );
        let err = DbUrl::parse("postgres:u:secret@h").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn a_schema_is_postgres_only_and_shown_with_the_database() {
        let pg = DbUrl::parse("postgres://u:pw@h/db").unwrap();
        let url = pg.clone().with_schema(Some("app".into())).unwrap();
        assert_eq!(url.to_string(), "postgres://u:***@h/db (schema app)");
        assert_eq!(url.masked(), "postgres://u:***@h/db");
        assert_eq!(
            url.search_path_sql().as_deref(),
            Some("SET search_path = \"app\"")
        );
        // sea-orm-migration's forms: a list, names quoted or not
        let list = pg
            .clone()
            .with_schema(Some("\"My App\",public".into()))
            .unwrap();
        assert_eq!(
            list.search_path_sql().as_deref(),
            Some("SET search_path = \"My App\",\"public\"")
        );
        assert_eq!(list.creation_schema().as_deref(), Some("My App"));
        let none = pg.clone().with_schema(Some(String::new())).unwrap();
        assert_eq!((none.schema(), none.search_path_sql()), (None, None));
        for bad in ["a\"b", "app,", "\"\""] {
            let err = pg.clone().with_schema(Some(bad.into())).unwrap_err();
            assert!(
                err.to_string().contains("not a schema name"),
                "{bad}: {err}"
            );
        }
        let err = DbUrl::parse("mysql://u:pw@h/db")
            .unwrap()
            .with_schema(Some("app".into()))
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::USAGE);
        assert!(err.to_string().contains("`mysql://user@host/app`"), "{err}");
        let err = DbUrl::parse("sqlite://a.db")
            .unwrap()
            .with_schema(Some("app".into()))
            .unwrap_err();
        assert!(err.to_string().contains("SQLite"), "{err}");
    }

    #[test]
    fn only_the_projects_default_may_create_a_missing_sqlite_file() {
        let default = |u: &str| DbUrl::parse(u).unwrap().as_project_default();
        assert_eq!(default("sqlite://a.db").expose(), "sqlite://a.db?mode=rwc");
        assert!(default("sqlite://a.db").creates_missing_file());
        assert_eq!(
            default("sqlite://a.db?mode=ro").expose(),
            "sqlite://a.db?mode=ro"
        );
        assert_eq!(default("sqlite::memory:").expose(), "sqlite::memory:");
        assert_eq!(default("postgres://h/db").expose(), "postgres://h/db");
        assert!(
            !DbUrl::parse("sqlite://a.db")
                .unwrap()
                .creates_missing_file()
        );
    }

    #[test]
    fn sqlite_files() {
        let file = |u: &str| DbUrl::parse(u).unwrap().sqlite_file();
        assert_eq!(file("sqlite://demo.db"), Some(PathBuf::from("demo.db")));
        assert_eq!(
            file("sqlite:demo.db?mode=rwc"),
            Some(PathBuf::from("demo.db"))
        );
        assert_eq!(file("sqlite:///tmp/x.db"), Some(PathBuf::from("/tmp/x.db")));
        assert_eq!(file("sqlite::memory:"), None);
    }
}
