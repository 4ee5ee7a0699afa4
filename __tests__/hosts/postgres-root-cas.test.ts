import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { POSTGRES_ROOT_CA_BUNDLE, POSTGRES_ROOT_CAS } from '../../lib/private/kubernetes/postgres-root-cas';

/**
 * Serial numbers and SHA-1 thumbprints of the roots as Microsoft publishes them ("Azure Certificate
 * Authority details", MicrosoftDocs/azure-docs `articles/security/fundamentals/azure-ca-details.md`,
 * table "Root Certificate Authorities"): copied from Microsoft, not from the module under test.
 */
const MICROSOFT_PUBLISHED = {
  'DigiCert Global Root G2': { serial: '033AF1E6A711A9A0BB2864B11D09FAE5', sha1: 'DF3C24F9BFD666761B268073FE06D1CC8D4F82A4' },
  'Microsoft RSA Root Certificate Authority 2017': { serial: '1ED397095FD8B4B347701EAABE7F45B3', sha1: '73A5E64A3BFF8316FF0EDCCC618A906E4EAE4D74' },
  'DigiCert Global Root CA': { serial: '083BE056904246B1A1756AC95991C74A', sha1: 'A8985D3A65E5E5C4B2D7D66D40C6DD2FB19C5436' },
} as const;

const commonName = (certificate: X509Certificate): string => certificate.subject.match(/^CN=(.*)$/m)![1];

describe("Azure PostgreSQL's root CAs for PgBouncer", () => {
  it('are the three roots Microsoft lists for the flexible server (G2 and Microsoft RSA 2017; Global Root CA for China regions)', () => {
    expect(POSTGRES_ROOT_CAS.map((ca) => ca.name)).toEqual(Object.keys(MICROSOFT_PUBLISHED));
  });

  it.each(POSTGRES_ROOT_CAS.map((ca) => [ca.name, ca] as const))('%s: the PEM is the certificate Microsoft publishes', (name, ca) => {
    const certificate = new X509Certificate(ca.pem);
    const published = MICROSOFT_PUBLISHED[name as keyof typeof MICROSOFT_PUBLISHED];
    expect(commonName(certificate)).toBe(name);
    expect(certificate.serialNumber).toBe(published.serial);
    expect(certificate.fingerprint.replace(/:/g, '')).toBe(published.sha1);
    expect(certificate.fingerprint256).toBe(ca.sha256Fingerprint);
    // A root: self-issued, a CA, and still valid.
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.ca).toBe(true);
    expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(Date.now());
  });

  it.each(POSTGRES_ROOT_CAS.map((ca) => [ca.name, ca] as const))("%s: Node's copy of Mozilla's root store holds the same certificate", (_name, ca) => {
    const der = new X509Certificate(ca.pem).raw;
    expect(rootCertificates.some((pem) => new X509Certificate(pem).raw.equals(der))).toBe(true);
  });

  it('bundles exactly those certificates, one PEM after another', () => {
    const pems = POSTGRES_ROOT_CA_BUNDLE.split(/(?<=-----END CERTIFICATE-----\n)/);
    expect(pems.map((pem) => commonName(new X509Certificate(pem)))).toEqual(Object.keys(MICROSOFT_PUBLISHED));
    expect(pems.join('')).toBe(POSTGRES_ROOT_CA_BUNDLE);
  });
});
