/* Throwaway TLS identities for the tests that serve HTTPS on 127.0.0.1 (the emulator's
 * tls_cert_pem, the probe's handshake, the CLI's ca_file): generated in memory per run, so
 * no key is ever committed and no certificate expires in the repository. */
#ifndef SFA_TESTS_TLS_CERT_H
#define SFA_TESTS_TLS_CERT_H

/* A fresh self-signed certificate for 127.0.0.1 (CN and IP subject alternative name, valid
 * for the next hour) into *cert_pem, and its P-256 key into *key_pem unless key_pem is
 * NULL; both PEM, the caller frees them. Two calls give two unrelated certificates. Aborts
 * if OpenSSL fails (a broken test machine, not a finding). */
void tls_cert_make(char **cert_pem, char **key_pem);

#endif
