use super::*;
use clap::CommandFactory;

#[test]
fn cli_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn durations() {
    assert_eq!(parse_duration_secs("90"), Ok(90));
    assert_eq!(parse_duration_secs("5m"), Ok(300));
    assert_eq!(parse_duration_secs("1h"), Ok(3600));
    assert!(parse_duration_secs("-1").is_err());
    assert!(parse_duration_secs("soon").is_err());
}

#[test]
fn value_enums_use_the_registered_names() {
    let names = |v: &[&dyn Fn() -> Option<clap::builder::PossibleValue>]| -> Vec<String> {
        v.iter()
            .filter_map(|f| f().map(|p| p.get_name().to_string()))
            .collect()
    };
    assert_eq!(
        names(&[
            &|| ClientAuthChoice::ClientSecretBasic.to_possible_value(),
            &|| ClientAuthChoice::ClientSecretPost.to_possible_value(),
            &|| ClientAuthChoice::PrivateKeyJwt.to_possible_value(),
        ]),
        [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ]
    );
    assert_eq!(
        AssertionAudienceChoice::TokenEndpoint
            .to_possible_value()
            .unwrap()
            .get_name(),
        "token-endpoint"
    );
}

#[test]
fn the_fast_path_reads_vmauth_token_as_clap_does() {
    use clap::Parser;
    let parse = |v: &[&str]| -> Vec<std::ffi::OsString> {
        std::iter::once("vmauth")
            .chain(v.iter().copied())
            .map(Into::into)
            .collect()
    };
    // Every form scripts, kubectl and notebooks use: the same value as clap's.
    for form in [
        &["token"][..],
        &["token", "-o", "json"],
        &["token", "-o", "exec-credential", "--min-ttl", "5m"],
        &["token", "--output=env", "--token-type", "id"],
        &["--store", "file", "token"],
        &["--store=keyring", "token", "--profile", "work"],
        &["token", "--profile=work", "--store", "memory"],
        &["--profile", "ci", "token", "--force-refresh"],
        &[
            "token",
            "--issuer",
            "https://idp.example.com",
            "--client-id",
            "cli",
        ],
        &[
            "token",
            "--issuer=https://idp.example.com/",
            "--client-id=cli",
            "--audience",
            "https://api",
        ],
        &[
            "token",
            "--issuer",
            "",
            "--client-id",
            "c",
            "--scope",
            "openid api",
        ],
        &[
            "token",
            "--min-ttl",
            "90",
            "--token-type=access",
            "-o",
            "header",
        ],
    ] {
        let args = parse(form);
        let fast = parse_fast(&args).unwrap_or_else(|| panic!("fast path: {form:?}"));
        let clap = Cli::try_parse_from(&args).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{form:?}");
    }
    // Anything else goes through clap (which parses it, or says what is wrong).
    for other in [
        &["token", "--help"][..],
        &["token", "-h"],
        &["status"],
        &[],
        &["tokens"],
        &["token", "token"],
        &["token", "-o", "yaml"],
        &["token", "-ojson"],
        &["token", "-o=json"],
        &["token", "--issuer"],
        &["token", "--issuer", "--client-id", "c"],
        &["token", "--issuer", "a", "--issuer", "b"],
        &["token", "--force-refresh", "--force-refresh"],
        &["token", "--force-refresh=true"],
        &["token", "--min-ttl", "soon"],
        &["token", "--store", "vault"],
        &["token", "--resource", "https://api"],
        &["token", "--client-credentials"],
        &["token", "--", "x"],
        &["--issuer", "x", "token"],
        &["exec", "--", "token"],
    ] {
        assert!(parse_fast(&parse(other)).is_none(), "{other:?}");
    }
}

/// Every flag a variable backs shows that variable's note exactly once,
/// in every subcommand (and nothing else carries a hand-written one).
#[test]
fn every_flag_note_comes_from_the_registry_once() {
    let mut cmd = command();
    cmd.build();
    let mut seen = 0;
    for sub in cmd.get_subcommands() {
        for arg in sub.get_arguments() {
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            match FLAG_VARS.iter().find(|(f, _)| Some(*f) == arg.get_long()) {
                Some((_, var)) => {
                    assert_eq!(help.matches("[env: ").count(), 1, "{help}");
                    assert!(help.contains(&format!("[env: {}", var.name)), "{help}");
                    if let Some(d) = var.default {
                        assert!(help.contains(&format!("default: {d}]")), "{help}");
                    }
                    seen += 1;
                }
                None => assert!(!help.contains("[env: "), "{help}"),
            }
        }
    }
    assert!(seen > 20, "{seen}");
    // The --min-ttl default is one number, written once.
    assert_eq!(crate::env_vars::vars::MIN_TTL.default, Some("60"));
    assert_eq!(crate::settings::DEFAULT_MIN_TTL, 60);
}
