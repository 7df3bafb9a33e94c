// @owf/mdoc 0.6.0 (OpenWallet Foundation) as an independent verifier of kmid's mdoc
// presentations over OpenID4VP: it rebuilds the SessionTranscript from the request's
// parameters (OpenID4VP 1.0 Appendix B.2.6: the redirect `OpenID4VPHandover` over client_id,
// nonce, the response key's thumbprint and response_uri, or the DC API
// `OpenID4VPDCAPIHandover` over the Origin, nonce and thumbprint) and verifies the DeviceResponse
// against it: issuer signature and chain under the IACA, value digests, validity, device
// signature.
//
//   node mdoc_peer.mjs verify DIR    DIR/mdoc-input.json: {"device_response": base64url,
//                                    "iaca_pem": path, "nonce", "jwk" (the request's public
//                                    response key, or null), and "origin" (DC API) or
//                                    "client_id" + "response_uri"}; prints {"doc_type",
//                                    "claims", "failed": [checks that failed]}
//
// The library needs crypto callbacks; they are written here with node:crypto alone (SHA-256,
// ES256 over COSE_Sign1, X.509 chain and names). Driven by
// crates/kmid-cli/tests/interop_openid4vp.rs.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { CoseKey, DeviceResponse, SessionTranscript, Verifier } from '@owf/mdoc'

const [verb, dir] = process.argv.slice(2)
const input = () => JSON.parse(fs.readFileSync(path.join(dir, 'mdoc-input.json'), 'utf8'))
const notUsed = () => { throw new Error('not used by this peer') }

const digest = ({ digestAlgorithm, bytes }) => {
  const name = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' }[digestAlgorithm]
  if (!name) throw new Error(`digest ${digestAlgorithm} not supported here`)
  return new Uint8Array(crypto.createHash(name).update(bytes).digest())
}

const x509 = (der) => new crypto.X509Certificate(Buffer.from(der))
// "C=KR\nO=…" as node prints a distinguished name.
const nameField = (name, field) =>
  name.split('\n').filter((part) => part.startsWith(`${field}=`)).map((part) => part.slice(field.length + 1))

const ctx = {
  crypto: {
    random: (length) => new Uint8Array(crypto.randomBytes(length)),
    digest,
    calculateEphemeralMacKey: notUsed,
  },
  cose: {
    sign1: {
      sign: notUsed,
      verify: ({ key, sign1 }) => {
        const hash = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' }[sign1.signatureAlgorithmName]
        if (!hash) return false
        const jwk = key instanceof CoseKey ? key.jwk : key
        const publicKey = crypto.createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' })
        return crypto.verify(hash, Buffer.from(sign1.toBeSigned), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(sign1.signature))
      },
    },
    mac0: { sign: notUsed, verify: notUsed },
  },
  x509: {
    getIssuerNameField: ({ certificate, field }) => nameField(x509(certificate).issuer, field),
    getPublicKey: ({ certificate }) => CoseKey.fromJwk(x509(certificate).publicKey.export({ format: 'jwk' })),
    verifyCertificateChain: ({ trustedCertificates, x5chain, now }) => {
      const chain = x5chain.map(x509)
      const anchors = trustedCertificates.map(x509)
      const at = now ?? new Date()
      for (const cert of chain) {
        if (new Date(cert.validFrom) > at || new Date(cert.validTo) < at) throw new Error('a certificate is not valid now')
      }
      for (let i = 0; i + 1 < chain.length; i++) {
        if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) throw new Error('the chain is broken')
      }
      const last = chain[chain.length - 1]
      if (!anchors.some((a) => last.checkIssued(a) && last.verify(a.publicKey))) throw new Error('the chain ends under no trusted certificate')
    },
    getCertificateData: ({ certificate }) => {
      const cert = x509(certificate)
      return {
        issuerName: cert.issuer,
        subjectName: cert.subject,
        serialNumber: cert.serialNumber,
        thumbprint: cert.fingerprint256,
        notBefore: new Date(cert.validFrom),
        notAfter: new Date(cert.validTo),
        pem: cert.toString(),
      }
    },
  },
}

// RFC 7638 thumbprint of an EC public JWK (the members in lexicographic order).
const thumbprint = (jwk) =>
  jwk ? digest({ digestAlgorithm: 'SHA-256', bytes: Buffer.from(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })) }) : undefined

async function verify() {
  const given = input()
  const jwkThumbprint = thumbprint(given.jwk)
  const sessionTranscript = given.origin
    ? await SessionTranscript.forOid4VpDcApi({ origin: given.origin, nonce: given.nonce, jwkThumbprint }, ctx)
    : await SessionTranscript.forOid4Vp({ clientId: given.client_id, responseUri: given.response_uri, nonce: given.nonce, jwkThumbprint }, ctx)
  const iaca = new crypto.X509Certificate(fs.readFileSync(path.resolve(dir, given.iaca_pem)))
  const failed = []
  const deviceResponse = Buffer.from(given.device_response, 'base64url')
  await Verifier.verifyDeviceResponse({
    deviceResponse: new Uint8Array(deviceResponse),
    sessionTranscript,
    trustedCertificates: [new Uint8Array(iaca.raw)],
    onCheck: (check) => { if (check.status === 'FAILED') failed.push(`${check.category}: ${check.check}${check.reason ? ` (${check.reason})` : ''}`) },
  }, ctx)
  const [document] = DeviceResponse.decode(new Uint8Array(deviceResponse)).documents ?? []
  const claims = {}
  for (const [namespace, items] of document?.issuerSigned.issuerNamespaces.issuerNamespaces ?? []) {
    for (const item of items) claims[`${namespace}/${item.elementIdentifier}`] = item.elementValue
  }
  console.log(JSON.stringify({ doc_type: document?.docType, claims, failed }, (_, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : v)))
}

const verbs = { verify }
await verbs[verb]()
