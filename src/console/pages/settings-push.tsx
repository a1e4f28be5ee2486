import type { Session } from '../../admins/service.ts';
import type { ExpiryState } from '../../push/expiry.ts';
import { CsrfField, when } from '../layout.tsx';

export interface PushSettings {
  active: { topic: string; notAfter: number; state: ExpiryState; daysLeft: number } | null;
  csr: { subject: string; createdAt: number } | null;
  vendor: { subject: string; notAfter: number } | null;
}

const upload = { method: 'post', enctype: 'multipart/form-data', class: 'card' } as const;

/**
 * The push certificate's lifecycle, in the order an admin goes through it: a CSR, signed with the
 * vendor identity into the request Apple's portal takes, then the certificate Apple issues.
 */
export function PushSection(props: { session: Session; push: PushSettings }) {
  const { active, csr, vendor } = props.push;
  const canChange = props.session.admin.role === 'admin';
  return (
    <section id="push" aria-labelledby="push-heading">
      <h2 id="push-heading">Apple push certificate</h2>
      {active ? (
        <dl class="facts" data-testid="push">
          <dt>Topic</dt>
          <dd>{active.topic}</dd>
          <dt>Expires</dt>
          <dd>
            {when(active.notAfter)} ({active.daysLeft >= 0 ? `${active.daysLeft} days left` : 'expired'}, {active.state})
          </dd>
        </dl>
      ) : (
        <p data-testid="push">None installed{canChange ? ': follow the steps below.' : '.'}</p>
      )}
      {canChange ? (
        <div class="actions">
          <form method="post" action="/settings/push/csr" class="card">
            <CsrfField session={props.session} />
            <h3>1. Certificate signing request</h3>
            {csr ? (
              <p data-testid="pending-csr">
                Pending: {csr.subject}, made {when(csr.createdAt)}. <a href="/settings/push/csr.pem">Download the CSR</a>
              </p>
            ) : (
              <p class="muted">None pending. Its private key stays sealed on this appliance.</p>
            )}
            <label for="csr-cn">Common name (optional)</label>
            <input id="csr-cn" name="common_name" maxlength={64} />
            <label for="csr-email">Email (optional)</label>
            <input id="csr-email" name="email" type="email" maxlength={255} />
            <div class="form-actions">
              <button type="submit">{csr ? 'Make a new CSR' : 'Make a CSR'}</button>
            </div>
          </form>
          <form {...upload} action="/settings/push/vendor">
            <CsrfField session={props.session} />
            <h3>2. MDM vendor identity</h3>
            <p class="muted">{vendor ? `Installed: ${vendor.subject}, expires ${when(vendor.notAfter)}.` : 'None installed. Without one, have the CSR signed by your vendor.'}</p>
            <label for="vendor-p12">PKCS#12 file (.p12)</label>
            <input id="vendor-p12" name="pkcs12" type="file" accept=".p12,.pfx,application/x-pkcs12" />
            <label for="vendor-password">Its password</label>
            <input id="vendor-password" name="password" type="password" autocomplete="off" />
            <p class="muted">Or the certificate and key as PEM files:</p>
            <label for="vendor-cert">Certificate (PEM)</label>
            <input id="vendor-cert" name="certificate" type="file" accept=".pem,.crt,.cer" />
            <label for="vendor-key">Private key (PEM)</label>
            <input id="vendor-key" name="private_key" type="file" accept=".pem,.key" />
            <label for="vendor-passphrase">Key passphrase (if it is encrypted)</label>
            <input id="vendor-passphrase" name="passphrase" type="password" autocomplete="off" />
            <label for="vendor-chain">Apple's intermediate and root (PEM or DER, if the files lack them)</label>
            <input id="vendor-chain" name="chain" type="file" />
            <div class="form-actions">
              <button type="submit">Import vendor identity</button>
            </div>
          </form>
          <form method="post" action="/settings/push/signed-request" class="card">
            <CsrfField session={props.session} />
            <h3>3. Signed request</h3>
            <p class="muted">
              The pending CSR signed with the vendor identity: upload this file at <a href="https://identity.apple.com">identity.apple.com</a>.
            </p>
            <div class="form-actions">
              <button type="submit" disabled={!csr || !vendor}>
                Download the signed request
              </button>
            </div>
          </form>
          <form {...upload} action="/settings/push/certificate">
            <CsrfField session={props.session} />
            <h3>4. Apple's certificate</h3>
            <p class="muted">The certificate Apple issued for the request (PEM). Its key is the CSR's, unless you give one.</p>
            <label for="push-cert">Certificate (PEM)</label>
            <input id="push-cert" name="certificate" type="file" accept=".pem,.crt,.cer" required />
            <label for="push-key">Private key (PEM, optional)</label>
            <input id="push-key" name="private_key" type="file" accept=".pem,.key" />
            <label for="push-passphrase">Key passphrase (if it is encrypted)</label>
            <input id="push-passphrase" name="passphrase" type="password" autocomplete="off" />
            <label class="check" for="push-force">
              <input id="push-force" name="force" type="checkbox" value="1" />
              Replace even if the topic differs (enrolled devices stop getting pushes until they re-enroll)
            </label>
            <div class="form-actions">
              <button type="submit">Upload certificate</button>
            </div>
          </form>
        </div>
      ) : null}
    </section>
  );
}
