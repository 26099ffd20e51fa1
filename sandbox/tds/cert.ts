import { randomBytes } from 'node:crypto';
/**
 * Self-signed TLS certificates for the local stand-ins (TDS server, ARM stand-in, …). Trust the returned
 * `cert` as a CA on the client side (`ca: [cert]`), or skip verification where the client allows it.
 */
import { isIP } from 'node:net';
import { generate } from 'selfsigned';

/**
 * A fresh RSA key and self-signed certificate valid for `hostnames` plus localhost, 127.0.0.1 and ::1
 * (subjectAltName DNS and IP entries), usable as a server certificate and as its own trust anchor.
 */
export async function makeSelfSignedCert(hostnames: string[]): Promise<{ key: string; cert: string }> {
  const names = [...new Set([...hostnames, 'localhost', '127.0.0.1', '::1'])];
  const altNames = names.map((n) => (isIP(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n }));
  const commonName = hostnames.find((n) => !isIP(n)) ?? 'localhost';
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 365 * 24 * 60 * 60 * 1000);
  // A unique subject: trust stores look issuers up by subject name, so two sandbox certificates with the
  // same subject in one store (several sandboxes in one process) would shadow each other.
  const subject = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: `sqlmi-sandbox ${randomBytes(6).toString('hex')}` },
  ];
  const pems = await generate(subject, {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
