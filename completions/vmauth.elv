
use builtin;
use str;

set edit:completion:arg-completer[vmauth] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'vmauth'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'vmauth'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand login 'Log in (device flow or browser) and store the tokens'
            cand token 'Print a valid access token on stdout, refreshing it when needed'
            cand exec 'Run a command with a valid token in its environment'
            cand status 'Show who is logged in, until when, and where the credentials are stored'
            cand logout 'Revoke the tokens at the identity provider and remove the login'
            cand profiles 'List the profiles of config.toml, with their issuer and client and whether a usable login exists for each'
            cand completions 'Print the shell completion script for SHELL'
            cand git-credential 'git''s credential helper: a fresh token for the hosts a login serves'
            cand cargo-credential 'cargo''s credential provider: a fresh token for the registries a login serves'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vmauth;login'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand --issuer 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]'
            cand --client-id 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]'
            cand --audience 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]'
            cand --scope 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]'
            cand --resource 'RFC 8707 resource indicator (repeatable)'
            cand --client-auth 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer''s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]'
            cand --client-secret-file 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]'
            cand --private-key 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]'
            cand --key-id '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]'
            cand --client-assertion-file 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform''s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]'
            cand --assertion-audience 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]'
            cand --client-secret 'Not accepted: secrets on the command line leak into ps and shell history'
            cand --grant 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform''s token is the client assertion), jwt-bearer or token-exchange (the platform''s token is the grant) [env: VMAUTH_GRANT; default: device_code]'
            cand --federated-token 'Where the CI platform''s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]'
            cand --federated-audience 'The audience to ask the CI platform''s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]'
            cand --actor-token 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]'
            cand --subject-token-type 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token'
            cand --param 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused'
            cand --flow 'How to sign in: auto (the device flow when the provider offers it, else the browser), device, or browser [env: VMAUTH_FLOW; default: auto]'
            cand --redirect-port 'The browser flow''s loopback port, for a provider that registers the redirect URI with its port (default: any free port)'
            cand --redirect-uri 'The browser flow''s redirect URI exactly as registered: `http://127.0.0.1:PORT/PATH` or `http://[::1]:PORT/PATH`'
            cand --timeout 'How long to wait for the sign-in in the browser'
            cand --save-profile 'After logging in, save the options used as profile NAME in config.toml'
            cand --authorization-server 'Starting from an API whose metadata names several authorization servers: the one to sign in with'
            cand --client-metadata-url 'Starting from an API: identify vmauth by this Client ID Metadata Document (an https URL) where the server takes them'
            cand --registration-token-file 'Starting from an API: the initial access token a server requires for registration (RFC 7591), read from this file (or VMAUTH_REGISTRATION_TOKEN)'
            cand --client-credentials 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)'
            cand --client-secret-stdin 'Read the client secret from standard input'
            cand --no-qr 'Do not show the QR code'
            cand --qr 'Show the QR code even when stderr is not a terminal'
            cand --browser 'Sign in with this machine''s browser (or paste the address it was sent to): --flow browser'
            cand --device 'Sign in with a code entered on any device: --flow device'
            cand --open 'Open the sign-in page in a browser (the browser flow does where one is plausible; the device flow only with this flag)'
            cand --no-open 'Never open a browser; only print the address'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;token'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand --issuer 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]'
            cand --client-id 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]'
            cand --audience 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]'
            cand --scope 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]'
            cand --resource 'RFC 8707 resource indicator (repeatable)'
            cand --client-auth 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer''s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]'
            cand --client-secret-file 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]'
            cand --private-key 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]'
            cand --key-id '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]'
            cand --client-assertion-file 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform''s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]'
            cand --assertion-audience 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]'
            cand --client-secret 'Not accepted: secrets on the command line leak into ps and shell history'
            cand --grant 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform''s token is the client assertion), jwt-bearer or token-exchange (the platform''s token is the grant) [env: VMAUTH_GRANT; default: device_code]'
            cand --federated-token 'Where the CI platform''s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]'
            cand --federated-audience 'The audience to ask the CI platform''s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]'
            cand --actor-token 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]'
            cand --subject-token-type 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token'
            cand --param 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused'
            cand --min-ttl 'Refresh when less than this is left (seconds, or with s/m/h suffix; at most half the token''s lifetime) [env: VMAUTH_MIN_TTL; default: 60]'
            cand --token-type 'Which token of the login [env: VMAUTH_TOKEN_TYPE; default: access]'
            cand -o 'How to print the token [env: VMAUTH_OUTPUT; default: raw]'
            cand --output 'How to print the token [env: VMAUTH_OUTPUT; default: raw]'
            cand --client-credentials 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)'
            cand --client-secret-stdin 'Read the client secret from standard input'
            cand --force-refresh 'Refresh now (for client credentials: request a new token) even when the cached token is still good, e.g. after it was revoked at the identity provider'
            cand --exchange 'Exchange the login''s access token (RFC 8693) for one for --audience AUD, kept as its own login and exchanged again when it runs out'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;exec'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand --issuer 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]'
            cand --client-id 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]'
            cand --audience 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]'
            cand --scope 'Scopes to request, space- or comma-separated (client credentials: none by default) [env: VMAUTH_SCOPE; default: openid profile email offline_access (device login)]'
            cand --resource 'RFC 8707 resource indicator (repeatable)'
            cand --client-auth 'Client authentication method (by default: private_key_jwt when a key or assertion is given, else from the issuer''s metadata, else client_secret_basic) [env: VMAUTH_CLIENT_AUTH]'
            cand --client-secret-file 'Read the client secret from this file (the secret can also come from the VMAUTH_CLIENT_SECRET environment variable) [env: VMAUTH_CLIENT_SECRET_FILE]'
            cand --private-key 'PEM private key (RSA or P-256 EC) for private_key_jwt (RFC 7523) [env: VMAUTH_PRIVATE_KEY]'
            cand --key-id '`kid` header for assertions signed with --private-key [env: VMAUTH_KEY_ID]'
            cand --client-assertion-file 'A ready-made client assertion (JWT) in a file, re-read on every request (e.g. a CI platform''s federated identity token) [env: VMAUTH_CLIENT_ASSERTION_FILE]'
            cand --assertion-audience 'The `aud` of signed client assertions [env: VMAUTH_ASSERTION_AUDIENCE; default: token-endpoint]'
            cand --client-secret 'Not accepted: secrets on the command line leak into ps and shell history'
            cand --grant 'The grant of a CI job: client_credentials (the default; with --federated-token, the platform''s token is the client assertion), jwt-bearer or token-exchange (the platform''s token is the grant) [env: VMAUTH_GRANT; default: device_code]'
            cand --federated-token 'Where the CI platform''s own OIDC token comes from, fetched fresh for each token request: auto, github, gitlab (or gitlab:VAR), azure-pipelines:CONNECTION, circleci, buildkite, kubernetes (or kubernetes:PATH), gcp, file:PATH, env:VAR or exec:COMMAND (README: CI without secrets) [env: VMAUTH_FEDERATED_TOKEN]'
            cand --federated-audience 'The audience to ask the CI platform''s token for (github, gcp, circleci, buildkite); not the `aud` of assertions vmauth signs (--assertion-audience) [env: VMAUTH_FEDERATED_AUDIENCE]'
            cand --actor-token 'Token exchange: who acts for the subject, from a SOURCE as for --federated-token [env: VMAUTH_ACTOR_TOKEN]'
            cand --subject-token-type 'Token exchange: the type of the federated token: jwt (the default), id_token or access_token'
            cand --param 'An extra parameter of the token request a provider requires (e.g. a federation rule id); repeatable. Parameters vmauth sets are refused'
            cand --min-ttl 'Refresh when less than this is left (seconds, or with s/m/h suffix; at most half the token''s lifetime) [env: VMAUTH_MIN_TTL; default: 60]'
            cand --token-type 'Which token of the login [env: VMAUTH_TOKEN_TYPE; default: access]'
            cand --env 'The environment variable that gets the token [default: VMAUTH_TOKEN]'
            cand --client-credentials 'Use the OAuth client credentials grant instead of the device flow (also VMAUTH_GRANT=client_credentials)'
            cand --client-secret-stdin 'Read the client secret from standard input'
            cand --force-refresh 'Refresh now (for client credentials: request a new token) even when the cached token is still good, e.g. after it was revoked at the identity provider'
            cand --exchange 'Exchange the login''s access token (RFC 8693) for one for --audience AUD, kept as its own login and exchanged again when it runs out'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;status'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand --issuer 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]'
            cand --client-id 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]'
            cand --audience 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]'
            cand --json 'Print a JSON document on stdout (format documented in README.md)'
            cand --all 'Show every stored login, not only the selected one'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;logout'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand --issuer 'Issuer URL of the OpenID Provider (https, or http on loopback) [env: VMAUTH_ISSUER]'
            cand --client-id 'OAuth client id registered at the identity provider [env: VMAUTH_CLIENT_ID]'
            cand --audience 'API audience for the access token (sent as `audience`, as Auth0 needs) [env: VMAUTH_AUDIENCE]'
            cand --all 'Log out of every stored login'
            cand --unregister 'Also delete the client registration vmauth made at the login''s authorization server (RFC 7592), where the server offers it'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;profiles'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;completions'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;git-credential'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;cargo-credential'= {
            cand --store 'Where credentials live [env: VMAUTH_STORE; default: auto]'
            cand --profile 'The profile of config.toml to use [env: VMAUTH_PROFILE; default: default_profile in config.toml]'
            cand --cargo-plugin 'Added by cargo when it runs a credential provider'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'vmauth;help'= {
            cand login 'Log in (device flow or browser) and store the tokens'
            cand token 'Print a valid access token on stdout, refreshing it when needed'
            cand exec 'Run a command with a valid token in its environment'
            cand status 'Show who is logged in, until when, and where the credentials are stored'
            cand logout 'Revoke the tokens at the identity provider and remove the login'
            cand profiles 'List the profiles of config.toml, with their issuer and client and whether a usable login exists for each'
            cand completions 'Print the shell completion script for SHELL'
            cand git-credential 'git''s credential helper: a fresh token for the hosts a login serves'
            cand cargo-credential 'cargo''s credential provider: a fresh token for the registries a login serves'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'vmauth;help;login'= {
        }
        &'vmauth;help;token'= {
        }
        &'vmauth;help;exec'= {
        }
        &'vmauth;help;status'= {
        }
        &'vmauth;help;logout'= {
        }
        &'vmauth;help;profiles'= {
        }
        &'vmauth;help;completions'= {
        }
        &'vmauth;help;git-credential'= {
        }
        &'vmauth;help;cargo-credential'= {
        }
        &'vmauth;help;help'= {
        }
    ]
    $completions[$command]
}
