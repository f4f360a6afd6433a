"""Unit tests of the vmauth Python package, against a fake ``vmauth``
program (a script that answers as ``vmauth token -o json`` does)."""

import json
import os
import stat
import sys
import tempfile
import textwrap
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import vmauth  # noqa: E402


def fake_vmauth(directory, answer=None, exit_code=0, stderr=""):
    """A program that records its arguments and prints `answer` (JSON) or fails."""
    path = os.path.join(directory, "vmauth")
    calls = os.path.join(directory, "calls")
    script = textwrap.dedent(f"""\
        #!{sys.executable}
        import json, sys
        with open({calls!r}, "a") as f:
            f.write(json.dumps(sys.argv[1:]) + "\\n")
        sys.stderr.write({stderr!r})
        if {exit_code} == 0:
            sys.stdout.write(json.dumps({answer!r}))
        sys.exit({exit_code})
        """)
    with open(path, "w") as f:
        f.write(script)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    return path, calls


def calls_of(calls):
    try:
        with open(calls) as f:
            return [json.loads(l) for l in f]
    except FileNotFoundError:
        return []


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


ANSWER = {"token": "tok-1", "token_type": "Bearer", "expires_in": 600,
          "claims": {"sub": "alice", "email": "alice@example.test", "name": "Alice\nEvil: x"}}


class TokenTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def test_asks_once_until_the_margin_then_again(self):
        program, calls = fake_vmauth(self.dir.name, ANSWER)
        clock = Clock()
        t = vmauth.Token(profile="work", vmauth=program, clock=clock)
        self.assertEqual(t.value(), "tok-1")
        self.assertEqual(t.value(), "tok-1")
        self.assertEqual(calls_of(calls), [["token", "-o", "json", "--profile", "work"]])
        clock.now += 600 - 60 - 1
        t.value()
        self.assertEqual(len(calls_of(calls)), 1, "still within its time")
        clock.now += 2
        t.value()
        self.assertEqual(len(calls_of(calls)), 2, "asked again within the margin")

    def test_a_short_lived_token_is_kept_for_half_its_life(self):
        program, calls = fake_vmauth(self.dir.name, dict(ANSWER, expires_in=10))
        clock = Clock()
        t = vmauth.Token(vmauth=program, clock=clock)
        t.value()
        clock.now += 4
        t.value()
        clock.now += 2
        t.value()
        self.assertEqual(len(calls_of(calls)), 2)

    def test_the_selection_is_passed_as_arguments_never_through_a_shell(self):
        program, calls = fake_vmauth(self.dir.name, ANSWER)
        vmauth.Token(issuer="https://idp.example.com", client_id="c; rm -rf /",
                     audience="https://api", vmauth=program).value()
        self.assertEqual(calls_of(calls)[0][3:], ["--issuer", "https://idp.example.com",
                                                  "--client-id", "c; rm -rf /",
                                                  "--audience", "https://api"])

    def test_headers_carry_the_token_and_only_well_formed_user_claims(self):
        program, _ = fake_vmauth(self.dir.name, ANSWER)
        h = vmauth.Token(vmauth=program).headers(user_headers=True)
        self.assertEqual(h["Authorization"], "Bearer tok-1")
        self.assertEqual(h["X-User-Id"], "alice")
        self.assertEqual(h["X-User-Email"], "alice@example.test")
        self.assertNotIn("X-User-Name", h, "a claim with a line break is not a header")

    def test_a_failure_raises_vmauths_message_and_exit_code(self):
        program, _ = fake_vmauth(self.dir.name, exit_code=4,
                                 stderr="vmauth: error: not logged in; run: vmauth login --profile work\n")
        with self.assertRaises(vmauth.VmauthError) as e:
            vmauth.Token(profile="work", vmauth=program).value()
        self.assertEqual(e.exception.exit_code, 4)
        self.assertEqual(str(e.exception), "vmauth: error: not logged in; run: vmauth login --profile work")

    def test_a_missing_program_or_a_garbled_answer_is_one_clear_error(self):
        with self.assertRaises(vmauth.VmauthError) as e:
            vmauth.Token(vmauth=os.path.join(self.dir.name, "nope")).value()
        self.assertEqual(e.exception.exit_code, 127)
        self.assertIn("VMAUTH_BIN", str(e.exception))
        program, _ = fake_vmauth(self.dir.name, {"no": "token"})
        with self.assertRaises(vmauth.VmauthError) as e:
            vmauth.Token(vmauth=program).value()
        self.assertIn("printed something else", str(e.exception))

    def test_a_token_goes_only_to_https_or_loopback(self):
        for ok in ["https://api.example.com/x", "http://127.0.0.1:5000/x", "http://[::1]:80/", "http://localhost/"]:
            vmauth.check_url(ok)
        for bad in ["http://api.example.com/x", "ftp://x/", "http://127.0.0.1.evil.example/"]:
            with self.assertRaises(vmauth.VmauthError) as e:
                vmauth.check_url(bad)
            self.assertEqual(e.exception.exit_code, 2)

    def test_non_ascii_claims_are_not_headers(self):
        program, _ = fake_vmauth(self.dir.name, dict(ANSWER, claims={"sub": "alice", "name": "Łukasz"}))
        h = vmauth.Token(vmauth=program).headers(user_headers=True)
        self.assertEqual(h["X-User-Id"], "alice")
        self.assertNotIn("X-User-Name", h)

    def test_the_token_is_not_in_the_repr(self):
        program, _ = fake_vmauth(self.dir.name, ANSWER)
        t = vmauth.Token(vmauth=program)
        t.value()
        self.assertNotIn("tok-1", repr(t))


if __name__ == "__main__":
    unittest.main()
