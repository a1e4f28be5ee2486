import type { Session } from '../../admins/service.ts';
import { Banner, CsrfField, Layout } from '../layout.tsx';

export interface TwoFactorSetupView {
  uri: string;
  secret: string;
  /** The URI as an SVG QR code (markup made by the qrcode library from the URI alone). */
  qrSvg: string;
}

function CodeField() {
  return (
    <>
      <label for="code">Code from the app</label>
      <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength={6} required autofocus />
    </>
  );
}

/** The signed-in admin's own two-factor: off (with a button to set it up), being set up (QR code and confirm), or on (with a way to turn it off). */
export function TwoFactorPage(props: { session: Session; setup: TwoFactorSetupView | null; notice?: string; error?: string }) {
  const s = props.session;
  return (
    <Layout title="Two-factor authentication" session={s} nav="settings">
      <div class="narrow">
        <p>
          <a href="/settings">Settings</a> ›
        </p>
        <h1>Two-factor authentication</h1>
        {props.notice ? <Banner kind="ok">{props.notice}</Banner> : null}
        {props.error ? <Banner kind="error">{props.error}</Banner> : null}
        {s.admin.twoFactor ? (
          <>
            <p data-testid="two-factor-state">
              <strong>On.</strong> Signing in as {s.admin.username} asks for a code from your authenticator app after the password.
            </p>
            <h2>Turn it off</h2>
            <form method="post" action="/account/two-factor/disable">
              <CsrfField session={s} />
              <CodeField />
              <div class="form-actions">
                <button type="submit" class="secondary">
                  Turn off two-factor
                </button>
              </div>
            </form>
            <p class="muted">
              Lost the phone? Another admin on the appliance runs <code>mdm admin totp reset --username {s.admin.username}</code>.
            </p>
          </>
        ) : props.setup ? (
          <>
            <p data-testid="two-factor-state">
              <strong>Being set up.</strong> Scan this code with an authenticator app (any that follows RFC 6238), then type the six-digit code it shows.
            </p>
            <div class="qr" role="img" aria-label="QR code for your authenticator app" dangerouslySetInnerHTML={{ __html: props.setup.qrSvg }} />
            <p>Cannot scan? Enter this key in the app (time-based, 6 digits, 30 seconds):</p>
            <p>
              <code class="break" data-testid="totp-secret">{props.setup.secret}</code>
            </p>
            <details>
              <summary>The otpauth URI</summary>
              <p>
                <code class="break" data-testid="totp-uri">{props.setup.uri}</code>
              </p>
            </details>
            <form method="post" action="/account/two-factor/enable">
              <CsrfField session={s} />
              <CodeField />
              <div class="form-actions">
                <button type="submit">Turn on two-factor</button>
              </div>
            </form>
          </>
        ) : (
          <>
            <p data-testid="two-factor-state">
              <strong>Off.</strong> With it on, signing in asks for a code from an authenticator app on your phone after the password.
            </p>
            <form method="post" action="/account/two-factor/start">
              <CsrfField session={s} />
              <div class="form-actions">
                <button type="submit">Set up two-factor</button>
              </div>
            </form>
          </>
        )}
      </div>
    </Layout>
  );
}
