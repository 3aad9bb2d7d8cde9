package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

// secretAnnotation marks a flag that holds a password or a token; its
// value names the flag's -file twin.
const secretAnnotation = "theseus/secret"

// maxSecretFile bounds a secret file: a password or token, not a
// document.
const maxSecretFile = 64 << 10

// secretFlag is a password or token: given as --NAME (discouraged: the
// command line is visible to every user of the machine, in ps and
// /proc), --NAME-file, $ENV or $ENV_FILE, in that order.
type secretFlag struct {
	name, env   string
	value, file string
}

// addSecretFlag adds --name and --name-file to fs.
func addSecretFlag(fs *pflag.FlagSet, name, env, usage string) *secretFlag {
	s := &secretFlag{name: name, env: env}
	fs.StringVar(&s.value, name, "", fmt.Sprintf("%s (env %s); prefer --%s-file or the environment: a flag shows in ps", usage, env, name))
	fs.StringVar(&s.file, name+"-file", "", fmt.Sprintf("file holding the %s (env %s_FILE)", usage, env))
	_ = fs.SetAnnotation(name, secretAnnotation, []string{name + "-file"})
	return s
}

// resolve returns the secret from the first place that has it.
func (s *secretFlag) resolve(getenv func(string) string) (string, error) {
	switch {
	case s.value != "" && s.file != "":
		return "", fmt.Errorf("--%s and --%s-file: give one", s.name, s.name)
	case s.value != "":
		return s.value, nil
	case s.file != "":
		return readSecret("--"+s.name+"-file", s.file)
	case getenv(s.env) != "":
		return getenv(s.env), nil
	case getenv(s.env+"_FILE") != "":
		return readSecret(s.env+"_FILE", getenv(s.env+"_FILE"))
	}
	return "", nil
}

// readSecret reads a secret file, without its final line break. Its
// content never appears in an error.
func readSecret(from, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	if len(data) > maxSecretFile {
		return "", fmt.Errorf("%s %s: larger than %d KiB; not a secret file", from, path, maxSecretFile>>10)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 {
		return "", fmt.Errorf("%s %s: empty", from, path)
	}
	return string(data), nil
}

// warnSecretFlags writes one warning for each secret given on the
// command line of fs.
func warnSecretFlags(fs *pflag.FlagSet, w io.Writer) {
	fs.Visit(func(f *pflag.Flag) {
		if twin, ok := f.Annotations[secretAnnotation]; ok && len(twin) > 0 {
			fmt.Fprintf(w, "warning: --%s on the command line is visible to every user of this machine (ps, /proc); use --%s or the environment\n",
				f.Name, twin[0])
		}
	})
}
