package render

import "strings"

// Every parameter in a topology's params maps is written into cluster.crm,
// cluster.pcs.sh (a command line) and from there into the CIB, which every
// node keeps and every report collects. A parameter whose name looks like a
// secret's is therefore refused, by the words in its name rather than by a
// list of names: a list missed fence_aws's secret_key, fence_ipmilan's
// hexadecimal_kg, fence_ibm_vpc's apikey and fence_ibm_powervs's token.
//
// A name is split into parts at '_', '-' and '.', compared in lower case,
// and looks like a secret's when a part
//   - contains pass (pass, passwd, password, passphrase), secret, token,
//     credential or community (SNMP's, a password in all but name);
//   - contains key (key, secret_key, access_key, apikey, tlskey), keystone
//     (keystone_url) aside;
//   - is kg (IPMI's Kg key: hexadecimal_kg) or psk (a pre-shared key).
//
// Names that only point at a secret pass: a last part file, path, dir or
// script (token_file, key_file, snmp_priv_passwd_script), and
// fence_docker's tlskey (the path of its client key); their value must be
// an absolute path, so the secret itself cannot be written there instead.
// identity_file (an ssh key's path) and certificates (tlscert, cacert,
// public) have no such word and pass as any parameter. One name matches
// and is no secret: fence_scsi's key_value (how its reservation key is
// made, id or hash).

// secretWords are the words that make a name part look like a secret's.
var secretWords = []string{"pass", "secret", "token", "credential", "community", "key"}

// secretParts are whole name parts that do.
var secretParts = []string{"kg", "psk"}

// notSecret are names that look like a secret's and are not.
var notSecret = []string{"key_value"}

// secretRefs are the last name parts, and keyPaths the names, of
// parameters that give a secret's path rather than the secret.
var (
	secretRefs = []string{"file", "path", "dir", "script"}
	keyPaths   = []string{"tlskey"}
)

// secretWord returns the word that makes name look like a secret's, or "".
func secretWord(name string) string {
	n := strings.ToLower(name)
	if oneOf(n, notSecret) {
		return ""
	}
	for _, p := range strings.FieldsFunc(n, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		if oneOf(p, secretParts) {
			return p
		}
		p = strings.ReplaceAll(p, "keystone", "")
		for _, w := range secretWords {
			if strings.Contains(p, w) {
				return w
			}
		}
	}
	return ""
}

// secretRef reports whether name gives a secret's path (see secretRefs).
func secretRef(name string) bool {
	n := strings.ToLower(name)
	i := strings.LastIndexAny(n, "_-.")
	return oneOf(n[i+1:], secretRefs) || oneOf(n, keyPaths)
}

// secretFix says where a secret given as the parameter name goes instead
// (password: the name looks like a password's): the topology's own way
// for the params map it is in.
type secretFix func(name string, password bool) string

// fenceFix is a fencing device's (field, its resource id and agent): its
// password_file or password_script; any other secret set on the nodes with
// cibsecret, which Pacemaker's fencer reads back (the CIB keeps only a
// hash), or, for fence_aws, the AWS credentials of the nodes.
func fenceFix(field, id, agent string) secretFix {
	return func(name string, password bool) string {
		if password {
			return "put it in a root-only file (mode 0600, the same path on every node) and name it in " + field +
				".password_file, or give a " + field + ".password_script"
		}
		s := "leave it out and give it on the nodes: a password through " + field + ".password_file or .password_script; " +
			"another secret after each load with `cibsecret set " + id + " " + name + " VALUE` (a root-only file on every node, " +
			"only its hash in the CIB)"
		if agent == "fence_aws" {
			s += "; or leave access_key and secret_key out: fence_aws then reads /root/.aws/credentials or the instance's role"
		}
		return s
	}
}

// serviceFix is an API service's: the root-only file its credentials names.
func serviceFix(field string) secretFix {
	return func(string, bool) string {
		return "put it in the root-only file (mode 0600) named by " + field + ".credentials, which the agent reads"
	}
}

// noSecretFix is for the agents that take no secret (vip, haproxy).
func noSecretFix(_ string, password bool) string {
	if password {
		return "the agent takes no password; leave it out"
	}
	return "the agent takes no secret; leave it out"
}

// secretParam checks one parameter's name (and, for a secret's path, its
// value) and reports whether it may be written; field is the parameter's
// place in the file. The value of a refused parameter is never repeated.
func secretParam(bad *problems, field, name, value string, fix secretFix) bool {
	w := secretWord(name)
	switch {
	case w == "":
		return true
	case secretRef(name):
		if !pathPattern.re().MatchString(value) {
			bad.add(field, "names a file holding a secret (its name has %q): want an absolute path of plain characters, "+
				"never the secret itself", w)
			return false
		}
		return true
	case w == "pass":
		bad.add(field, "a literal password would be written into the CIB and every rendered file: %s", fix(name, true))
	default:
		bad.add(field, "looks like a secret (its name has %q) and would be written into the CIB and every rendered file: %s",
			w, fix(name, false))
	}
	return false
}
