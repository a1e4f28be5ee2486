import { Banner, Layout } from '../layout.tsx';

export function LoginPage(props: { next: string; error?: string; username?: string }) {
  return (
    <Layout title="Sign in" session={null}>
      <div class="narrow">
        <h1>Sign in</h1>
        {props.error ? <Banner kind="error">{props.error}</Banner> : null}
        <form method="post" action="/login">
          <input type="hidden" name="next" value={props.next} />
          <label for="username">Username</label>
          <input id="username" name="username" autocomplete="username" required value={props.username ?? ''} autofocus />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
          <div class="form-actions">
            <button type="submit">Sign in</button>
          </div>
        </form>
      </div>
    </Layout>
  );
}

export function SetupPage(props: { token: string; error?: string; username?: string }) {
  return (
    <Layout title="Create the first admin" session={null}>
      <div class="narrow">
        <h1>Create the first admin</h1>
        <p>This appliance has no admin yet. The account made here can do everything; add others later with <code>mdm admin create</code>.</p>
        {props.error ? <Banner kind="error">{props.error}</Banner> : null}
        <form method="post" action="/setup">
          <input type="hidden" name="token" value={props.token} />
          <label for="username">Username</label>
          <input id="username" name="username" autocomplete="username" required value={props.username ?? ''} autofocus />
          <label for="password">Password (at least 12 characters)</label>
          <input id="password" name="password" type="password" autocomplete="new-password" minlength={12} required />
          <label for="confirm">Password again</label>
          <input id="confirm" name="confirm" type="password" autocomplete="new-password" minlength={12} required />
          <div class="form-actions">
            <button type="submit">Create admin and sign in</button>
          </div>
        </form>
      </div>
    </Layout>
  );
}

/** The second step for an admin with two-factor on: the challenge from the right password, and the code. */
export function LoginCodePage(props: { challenge: string; next: string; error?: string }) {
  return (
    <Layout title="Sign in" session={null}>
      <div class="narrow">
        <h1>Sign in</h1>
        {props.error ? <Banner kind="error">{props.error}</Banner> : null}
        <p>Type the six-digit code from your authenticator app.</p>
        <form method="post" action="/login/two-factor">
          <input type="hidden" name="challenge" value={props.challenge} />
          <input type="hidden" name="next" value={props.next} />
          <label for="code">Code</label>
          <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength={6} required autofocus />
          <div class="form-actions">
            <button type="submit">Verify</button>
          </div>
        </form>
        <p class="muted">
          No code? <a href="/login">Start again</a>, or ask another admin to run <code>mdm admin totp reset</code>.
        </p>
      </div>
    </Layout>
  );
}
