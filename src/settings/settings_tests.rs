use std::path::Path;

use clap::Parser;

use super::*;
use crate::cli::{Cli, OutputFormat, StoreChoice, TokenChoice};
use crate::credential::LoginId;
use crate::oidc::client_auth::{AssertionAudience, Method};

fn resolve(args: &[&str], env: &[(&str, &str)]) -> Result<Settings> {
    let mut argv = vec!["vmauth"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    let mut env = env.to_vec();
    env.push(("VMAUTH_CREDENTIALS_FILE", "/tmp/c.json"));
    env.push(("VMAUTH_CONFIG_DIR", "/tmp/cfg"));
    Settings::resolve(&cli, &MapEnv::new(&env))
}

fn token(args: &[&str], env: &[(&str, &str)]) -> Result<AcquireSettings> {
    token_settings(args, env).map(|t| t.acquire)
}

fn token_settings(args: &[&str], env: &[(&str, &str)]) -> Result<TokenSettings> {
    let mut a = vec!["token"];
    a.extend_from_slice(args);
    match resolve(&a, env)?.command {
        CommandSettings::Token(t) => Ok(t),
        other => panic!("not token settings: {other:?}"),
    }
}

fn key(t: &AcquireSettings) -> Option<String> {
    t.login.as_ref().map(LoginId::cache_key)
}

#[test]
fn flags_win_over_vmauth_variables_which_win_over_validmind_ones() {
    let vm = [
        ("VM_OIDC_ISSUER", "https://vm"),
        ("VM_OIDC_CLIENT_ID", "vm-cli"),
        ("VM_OIDC_AUDIENCE", "vm-aud"),
    ];
    let vmauth = [
        ("VMAUTH_ISSUER", "https://env"),
        ("VMAUTH_CLIENT_ID", "env-cli"),
    ];
    let both: Vec<_> = vm.iter().chain(&vmauth).copied().collect();
    assert_eq!(
        key(&token(&[], &vm).unwrap()).as_deref(),
        Some("https://vm|vm-cli|vm-aud")
    );
    // VMAUTH_* names a login: all three come from there (no VM_OIDC_AUDIENCE mixed in).
    assert_eq!(
        key(&token(&[], &both).unwrap()).as_deref(),
        Some("https://env|env-cli")
    );
    let flags = ["--issuer", "https://flag/", "--client-id", "flag-cli"];
    assert_eq!(
        key(&token(&flags, &both).unwrap()).as_deref(),
        Some("https://flag|flag-cli")
    );
    assert_eq!(
        key(&token(&[], &[]).unwrap()),
        None,
        "none: the current login"
    );
}

#[test]
fn issuer_and_client_are_never_mixed_across_sources() {
    let e = token(
        &["--issuer", "https://flag"],
        &[("VMAUTH_CLIENT_ID", "env-cli")],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message()
            .contains("--issuer was given without --client-id"),
        "{e}"
    );
    let e = token(
        &[],
        &[("VMAUTH_CLIENT_ID", "c"), ("VM_OIDC_ISSUER", "https://vm")],
    )
    .unwrap_err();
    assert!(
        e.message()
            .contains("VMAUTH_CLIENT_ID was given without VMAUTH_ISSUER"),
        "{e}"
    );
    let e = token(
        &["--audience", "api"],
        &[("VMAUTH_ISSUER", "https://i"), ("VMAUTH_CLIENT_ID", "c")],
    )
    .unwrap_err();
    assert!(
        e.message()
            .contains("--audience was given without --issuer"),
        "{e}"
    );
    // An audience variable alone (no issuer or client in its source) is not a selection.
    assert_eq!(
        key(&token(&[], &[("VMAUTH_AUDIENCE", "api")]).unwrap()),
        None
    );
}

#[test]
fn scopes_come_from_the_flag_then_vmauth_then_validmind() {
    let env = [("VMAUTH_SCOPE", "env"), ("VM_OIDC_SCOPE", "vm other")];
    let t = token(&["--scope", "a,b"], &env).unwrap();
    assert_eq!(t.request.scopes, Some(vec!["a".into(), "b".into()]));
    assert!(t.request.explicit);
    let t = token(&[], &env).unwrap();
    assert_eq!(t.request.scopes, Some(vec!["env".into()]));
    assert!(t.request.explicit);
    // The ValidMind library's scope variable is a default, not a request for a
    // particular client-credentials token.
    let t = token(&[], &env[1..]).unwrap();
    assert_eq!(t.request.scopes, Some(vec!["vm".into(), "other".into()]));
    assert!(!t.request.explicit);
    assert_eq!(
        token(&[], &[])
            .unwrap()
            .request
            .scopes_or(DEFAULT_SCOPE)
            .len(),
        4
    );
    let e = token(&["--resource", "not a uri"], &[]).unwrap_err();
    assert!(e.message().contains("not an absolute URI"), "{e}");
}

#[test]
fn store_choice_precedence_and_errors() {
    let store = |args: &[&str], env: &[(&str, &str)]| {
        let mut a = vec!["status"];
        a.extend_from_slice(args);
        resolve(&a, env).map(|s| s.common.store)
    };
    assert_eq!(store(&[], &[]).unwrap(), StoreChoice::Auto);
    assert_eq!(
        store(&[], &[("VM_OIDC_NO_PERSIST", "Yes")]).unwrap(),
        StoreChoice::Memory
    );
    assert_eq!(
        store(
            &[],
            &[("VM_OIDC_NO_PERSIST", "1"), ("VMAUTH_STORE", "file")]
        )
        .unwrap(),
        StoreChoice::File
    );
    assert_eq!(
        store(&["--store", "keyring"], &[("VMAUTH_STORE", "file")]).unwrap(),
        StoreChoice::Keyring
    );
    let e = store(&[], &[("VMAUTH_STORE", "vault")]).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message().contains("VMAUTH_STORE=\"vault\" is not valid"),
        "{e}"
    );
    assert!(
        e.message().contains("auto, keyring, file, memory, helper"),
        "{e}"
    );
}

#[test]
fn min_ttl_from_flag_variable_or_default() {
    assert_eq!(token(&[], &[]).unwrap().min_ttl, 60);
    assert_eq!(
        token(&[], &[("VMAUTH_MIN_TTL", "5m")]).unwrap().min_ttl,
        300
    );
    assert_eq!(
        token(&["--min-ttl", "90"], &[("VMAUTH_MIN_TTL", "5m")])
            .unwrap()
            .min_ttl,
        90
    );
    let e = token(&[], &[("VMAUTH_MIN_TTL", "soon")]).unwrap_err();
    assert!(e.message().starts_with("VMAUTH_MIN_TTL: "), "{e}");
}

#[test]
fn client_settings_from_flags_and_environment() {
    let t = token(
        &["--client-credentials"],
        &[
            ("VMAUTH_CLIENT_AUTH", "client_secret_post"),
            ("VMAUTH_CLIENT_SECRET", "s3cret"),
            ("VMAUTH_ASSERTION_AUDIENCE", "issuer"),
        ],
    )
    .unwrap();
    assert!(t.client.client_credentials);
    assert_eq!(t.client.method, Some(Method::ClientSecretPost));
    assert_eq!(t.client.assertion_audience, Some(AssertionAudience::Issuer));
    assert_eq!(
        t.client.secret_env.as_ref().map(|s| s.expose()),
        Some("s3cret")
    );
    // The secret variable alone does not ask for client authentication.
    assert!(
        !token(&[], &[("VMAUTH_CLIENT_SECRET", "s")])
            .unwrap()
            .client
            .requested()
    );
    assert!(
        token(&[], &[("VMAUTH_GRANT", "client_credentials")])
            .unwrap()
            .client
            .client_credentials
    );
    let e = token(&[], &[("VMAUTH_GRANT", "password")]).unwrap_err();
    assert!(e.message().contains("VMAUTH_GRANT=\"password\""), "{e}");
    let e = token(&[], &[("VMAUTH_CLIENT_AUTH", "tls_client_auth")]).unwrap_err();
    assert!(
        e.message()
            .contains("client_secret_basic, client_secret_post, private_key_jwt"),
        "{e}"
    );
    let e = token(&["--client-secret", "x"], &[]).unwrap_err();
    assert!(e.message().contains("not accepted"), "{e}");
    assert!(
        !e.message().contains('x') || !e.message().contains(" x"),
        "{e}"
    );
}

#[test]
fn every_variable_is_registered_once_and_documented() {
    let readme = include_str!("../../README.md");
    let help = crate::command().render_long_help().to_string();
    let mut seen = std::collections::BTreeSet::new();
    for v in ENV_VARS {
        assert!(seen.insert(v.name), "{} registered twice", v.name);
        assert!(
            readme.contains(v.name),
            "README.md does not document {}",
            v.name
        );
        assert!(help.contains(v.name), "--help does not list {}", v.name);
    }
}

/// The settings layer is the only reader of the environment.
#[test]
fn no_other_module_reads_the_environment() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    for f in files {
        // The settings layer (src/settings/) is the one reader.
        if f.components().any(|c| c.as_os_str() == "settings") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for needle in [".var(", "env::var", "var_os("] {
            assert!(
                !text.contains(needle),
                "{} reads the environment ({needle})",
                f.display()
            );
        }
    }
}

#[test]
fn conflicting_sources_are_refused_whether_flags_or_variables() {
    let e = token(
        &[],
        &[
            ("VMAUTH_PRIVATE_KEY", "/k.pem"),
            ("VMAUTH_CLIENT_ASSERTION_FILE", "/a.jwt"),
        ],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.message().contains("use one"), "{e}");
    assert!(
        token(
            &["--private-key", "/k.pem"],
            &[("VMAUTH_CLIENT_ASSERTION_FILE", "/a.jwt")]
        )
        .is_err()
    );
    assert!(
        token(
            &["--client-secret-stdin"],
            &[("VMAUTH_CLIENT_SECRET_FILE", "/s")]
        )
        .is_err()
    );
    assert!(token(&["--client-secret-stdin"], &[]).is_ok());
}

#[test]
fn output_and_token_type_from_flags_or_environment() {
    let t = token_settings(&[], &[]).unwrap();
    assert_eq!(
        (t.output, t.acquire.token),
        (OutputFormat::Raw, TokenChoice::Access)
    );
    let env = [
        ("VMAUTH_OUTPUT", "exec-credential"),
        ("VMAUTH_TOKEN_TYPE", "id"),
    ];
    let t = token_settings(&[], &env).unwrap();
    assert_eq!(
        (t.output, t.acquire.token),
        (OutputFormat::ExecCredential, TokenChoice::Id)
    );
    let t = token_settings(&["-o", "json", "--token-type", "access"], &env).unwrap();
    assert_eq!(
        (t.output, t.acquire.token),
        (OutputFormat::Json, TokenChoice::Access)
    );
    let e = token_settings(&[], &[("VMAUTH_OUTPUT", "yaml")]).unwrap_err();
    assert!(
        e.message().contains("VMAUTH_OUTPUT=\"yaml\" is not valid"),
        "{e}"
    );
}

#[test]
fn exec_takes_the_command_after_the_double_dash_and_a_variable_name() {
    let s = resolve(
        &[
            "exec",
            "--env",
            "API_TOKEN",
            "--",
            "sh",
            "-c",
            "echo $API_TOKEN",
        ],
        &[],
    )
    .unwrap();
    let CommandSettings::Exec(e) = s.command else {
        panic!()
    };
    assert_eq!(e.env_name, "API_TOKEN");
    assert_eq!(e.command, ["sh", "-c", "echo $API_TOKEN"]);
    let e = resolve(&["exec", "--env", "1BAD=x", "--", "true"], &[]).unwrap_err();
    assert!(
        e.message().contains("is not an environment variable name"),
        "{e}"
    );
}

/// Settings with a config.toml holding `config` in a temporary config directory.
fn with_config(config: &str, args: &[&str], env: &[(&str, &str)]) -> Result<Settings> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let mut argv = vec!["vmauth"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).expect("arguments parse");
    let mut env = env.to_vec();
    let d = dir.path().to_str().unwrap().to_string();
    env.push(("VMAUTH_CREDENTIALS_FILE", "/tmp/c.json"));
    env.push(("VMAUTH_CONFIG_DIR", &d));
    Settings::resolve(&cli, &MapEnv::new(&env))
}

const PROFILES: &str = r#"
default_profile = "home"

[profiles.home]
issuer = "https://home.example"
client_id = "home-cli"
store = "file"
min_ttl = "2m"

[profiles.work]
issuer = "https://work.example"
client_id = "work-cli"
audience = "https://api.work"
scope = "openid api"
output = "json"
"#;

fn token_with(args: &[&str], env: &[(&str, &str)]) -> (Common, TokenSettings) {
    let mut a = vec!["token"];
    a.extend_from_slice(args);
    let s = with_config(PROFILES, &a, env).unwrap();
    match s.command {
        CommandSettings::Token(t) => (s.common, t),
        other => panic!("{other:?}"),
    }
}

#[test]
fn profiles_sit_between_the_environment_and_the_defaults() {
    // The default profile when nothing else names one.
    let (common, t) = token_with(&[], &[]);
    assert_eq!(
        key(&t.acquire).as_deref(),
        Some("https://home.example|home-cli")
    );
    assert_eq!(common.store, StoreChoice::File);
    assert_eq!(t.acquire.min_ttl, 120);
    assert_eq!(t.output, OutputFormat::Raw);
    // A named profile; settings it lacks come from the default profile.
    let (_, t) = token_with(&["--profile", "work"], &[]);
    assert_eq!(
        key(&t.acquire).as_deref(),
        Some("https://work.example|work-cli|https://api.work")
    );
    assert_eq!(t.output, OutputFormat::Json);
    assert_eq!(t.acquire.min_ttl, 120, "from the default profile");
    assert_eq!(
        t.acquire.request.scopes,
        Some(vec!["openid".into(), "api".into()])
    );
    assert!(
        !t.acquire.request.explicit,
        "a profile's scope is what its logins ask for"
    );
    // The environment outranks profiles, flags outrank the environment.
    let (common, t) = token_with(
        &["--profile", "work"],
        &[
            ("VMAUTH_OUTPUT", "env"),
            ("VMAUTH_MIN_TTL", "30"),
            ("VMAUTH_STORE", "memory"),
        ],
    );
    assert_eq!(
        (t.output, t.acquire.min_ttl, common.store),
        (OutputFormat::Env, 30, StoreChoice::Memory)
    );
    let (_, t) = token_with(
        &["--profile", "work", "-o", "raw", "--min-ttl", "5"],
        &[("VMAUTH_OUTPUT", "env")],
    );
    assert_eq!((t.output, t.acquire.min_ttl), (OutputFormat::Raw, 5));
}

#[test]
fn an_explicit_profile_wins_over_ambient_login_variables_but_not_over_flags() {
    let ambient = [
        ("VMAUTH_ISSUER", "https://env.example"),
        ("VMAUTH_CLIENT_ID", "env-cli"),
    ];
    // Ambient variables outrank the default profile and VMAUTH_PROFILE...
    let (_, t) = token_with(&[], &ambient);
    assert_eq!(
        key(&t.acquire).as_deref(),
        Some("https://env.example|env-cli")
    );
    let mut env = ambient.to_vec();
    env.push(("VMAUTH_PROFILE", "work"));
    let (_, t) = token_with(&[], &env);
    assert_eq!(
        key(&t.acquire).as_deref(),
        Some("https://env.example|env-cli")
    );
    // ...but --profile names the login on purpose.
    let (_, t) = token_with(&["--profile", "work"], &ambient);
    assert_eq!(
        key(&t.acquire).as_deref(),
        Some("https://work.example|work-cli|https://api.work")
    );
    let (_, t) = token_with(
        &[
            "--profile",
            "work",
            "--issuer",
            "https://flag",
            "--client-id",
            "f",
        ],
        &ambient,
    );
    assert_eq!(key(&t.acquire).as_deref(), Some("https://flag|f"));
    let e = with_config(PROFILES, &["token", "--profile", "nope"], &[]).unwrap_err();
    assert!(
        e.message().contains("no profile \"nope\"")
            && e.message().contains("(profiles: home, work)"),
        "{e}"
    );
    let e = with_config(
        "[profiles.x]\nstore = \"vault\"\n",
        &["status", "--profile", "x"],
        &[],
    )
    .unwrap_err();
    assert!(
        e.message()
            .contains("profile \"x\": store = \"vault\" is not valid"),
        "{e}"
    );
}

#[test]
fn a_profiles_client_settings_apply_only_to_its_own_login() {
    let config = r#"
default_profile = "ci"

[profiles.ci]
issuer = "https://idp.example"
client_id = "ci"
grant = "client_credentials"
client_secret_file = "/run/secrets/ci"
scope = "deploy"
"#;
    let token = |args: &[&str]| {
        let mut a = vec!["token"];
        a.extend_from_slice(args);
        match with_config(config, &a, &[]).unwrap().command {
            CommandSettings::Token(t) => t.acquire,
            other => panic!("{other:?}"),
        }
    };
    let ci = token(&[]);
    assert!(ci.client.client_credentials);
    assert_eq!(
        ci.client.secret_file.as_deref(),
        Some(Path::new("/run/secrets/ci"))
    );
    assert_eq!(ci.request.scopes, Some(vec!["deploy".into()]));
    // Another login: nothing of the ci profile's client goes with it.
    let other = token(&["--issuer", "https://other.example", "--client-id", "x"]);
    assert!(!other.client.client_credentials);
    assert_eq!(other.client.secret_file, None);
    assert_eq!(other.request.scopes, None);
}

#[cfg(unix)]
#[test]
fn a_config_directory_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), "[profiles.x]\n").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let cli = Cli::try_parse_from(["vmauth", "status"]).unwrap();
    let d = dir.path().to_str().unwrap();
    let env = MapEnv::new(&[
        ("VMAUTH_CONFIG_DIR", d),
        ("VMAUTH_CREDENTIALS_FILE", "/tmp/c.json"),
    ]);
    let e = Settings::resolve(&cli, &env).unwrap_err();
    assert!(e.message().contains("is writable by other users"), "{e}");
}

fn login_settings(args: &[&str], env: &[(&str, &str)]) -> Result<LoginSettings> {
    let mut a = vec![
        "login",
        "--issuer",
        "https://idp.example.com",
        "--client-id",
        "c",
    ];
    a.extend_from_slice(args);
    match resolve(&a, env)?.command {
        CommandSettings::Login(l) => Ok(l),
        other => panic!("not login settings: {other:?}"),
    }
}

#[test]
fn the_flow_comes_from_the_flags_then_the_variable_then_the_profile() {
    let l = login_settings(&[], &[]).unwrap();
    assert_eq!((l.flow, l.flow_source), (FlowChoice::Auto, None));
    let l = login_settings(&["--browser"], &[("VMAUTH_FLOW", "device")]).unwrap();
    assert_eq!(l.flow, FlowChoice::Browser);
    let l = login_settings(&["--flow", "device"], &[]).unwrap();
    assert_eq!(
        (l.flow, l.flow_source.as_deref()),
        (FlowChoice::Device, Some("--flow"))
    );
    let l = login_settings(&[], &[("VMAUTH_FLOW", "browser")]).unwrap();
    assert_eq!(
        (l.flow, l.flow_source.as_deref()),
        (FlowChoice::Browser, Some("VMAUTH_FLOW"))
    );
    let e = login_settings(&[], &[("VMAUTH_FLOW", "carrier-pigeon")]).unwrap_err();
    assert!(
        e.message()
            .contains("VMAUTH_FLOW=\"carrier-pigeon\" is not valid"),
        "{}",
        e.message()
    );
    // The login's profile.
    let config = "[profiles.w]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\nflow = \"browser\"\nredirect_port = 8400\n";
    match with_config(config, &["login", "--profile", "w"], &[])
        .unwrap()
        .command
    {
        CommandSettings::Login(l) => {
            assert_eq!(l.flow, FlowChoice::Browser);
            assert_eq!(l.flow_source.as_deref(), Some("profile \"w\""));
            assert_eq!(l.redirect, Redirect::Port(8400));
        }
        other => panic!("{other:?}"),
    }
    let config = "[profiles.w]\nissuer = \"https://idp.example.com\"\nclient_id = \"c\"\nflow = \"sometimes\"\n";
    let e = with_config(config, &["login", "--profile", "w"], &[]).unwrap_err();
    assert!(
        e.message().contains("flow = \"sometimes\" is not valid"),
        "{}",
        e.message()
    );
}

#[test]
fn a_redirect_uri_must_be_a_loopback_address_with_a_port() {
    let l = login_settings(&["--redirect-uri", "http://127.0.0.1:8400/cb"], &[]).unwrap();
    assert_eq!(
        l.redirect,
        Redirect::Uri {
            ipv6: false,
            port: 8400,
            path: "/cb".into()
        }
    );
    let l = login_settings(&["--redirect-uri", "http://[::1]:9000/callback"], &[]).unwrap();
    assert_eq!(
        l.redirect,
        Redirect::Uri {
            ipv6: true,
            port: 9000,
            path: "/callback".into()
        }
    );
    assert_eq!(
        login_settings(&["--redirect-port", "8400"], &[])
            .unwrap()
            .redirect,
        Redirect::Port(8400)
    );
    assert_eq!(
        login_settings(&[], &[]).unwrap().redirect,
        Redirect::AnyPort
    );
    for (uri, why) in [
        ("http://localhost:8400/callback", "names a host"),
        ("https://127.0.0.1:8400/callback", "not an http:// loopback"),
        (
            "http://127.0.0.1:80/callback",
            "write it \"http://127.0.0.1/callback\"",
        ),
        (
            "http://127.0.0.1:8400",
            "write it \"http://127.0.0.1:8400/\"",
        ),
        ("http://10.0.0.1:8400/callback", "not on 127.0.0.1 or [::1]"),
        ("http://127.0.0.1:8400/callback?x=1", "has a query"),
        ("not a url", "is not a URL"),
    ] {
        let e = login_settings(&["--redirect-uri", uri], &[]).unwrap_err();
        assert!(
            e.message().contains(why) && e.message().contains("--redirect-uri"),
            "{uri}: {}",
            e.message()
        );
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
    }
}

#[test]
fn a_browser_is_opened_only_where_one_is_plausible() {
    let desktop = |env: &[(&str, &str)]| login_settings(&[], env).unwrap().desktop;
    let linux_or_desktop_os = cfg!(any(target_os = "macos", target_os = "windows"));
    // Nothing set: only macOS and Windows have a browser for sure.
    assert_eq!(desktop(&[]).can_open_browser().is_ok(), linux_or_desktop_os);
    assert!(desktop(&[("DISPLAY", ":0")]).can_open_browser().is_ok());
    assert!(
        desktop(&[("WAYLAND_DISPLAY", "wayland-0")])
            .can_open_browser()
            .is_ok()
    );
    assert!(
        desktop(&[("WSL_DISTRO_NAME", "Debian")])
            .can_open_browser()
            .is_ok()
    );
    // Over SSH a display is the remote one's (X forwarding) unless BROWSER names a browser.
    for ssh in [
        ("SSH_CONNECTION", "10.0.0.1 5000 10.0.0.2 22"),
        ("SSH_TTY", "/dev/pts/1"),
    ] {
        let e = desktop(&[ssh, ("DISPLAY", "localhost:10.0")])
            .can_open_browser()
            .unwrap_err();
        assert!(e.contains("SSH"), "{e}");
        assert!(
            desktop(&[ssh, ("BROWSER", "w3m")])
                .can_open_browser()
                .is_ok()
        );
    }
    // Empty values count as unset.
    assert_eq!(
        desktop(&[("DISPLAY", "")]).can_open_browser().is_ok(),
        linux_or_desktop_os
    );
}
