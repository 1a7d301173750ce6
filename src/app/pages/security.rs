//! `/settings/security`: two-factor authentication (enrol with a QR code or the secret typed
//! in, recovery codes shown once and renewable, switch off with a code), the signed-in browsers
//! (sign one out, or all the others), and the password change. Every change to how the account
//! signs in asks for the current password again. Works without JavaScript.

use crate::app::components::time::Time;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::{
    api::security::{
        security_settings, ChangePassword, DisableTwoFactor, EnableTwoFactor, EndOtherSessions,
        EndSession, RenewRecoveryCodes, SecurityOverview, StartTwoFactor,
    },
    components::{
        confirm::Confirm,
        copy_button::CopyButton,
        form_error::{flash_error, FormError},
        signed_in::SignedInPage,
    },
    context::AuthActions,
};
use crate::model::{account_rules, count, SessionInfo, TotpSetup};

/// The page's forms; the overview is read again whenever one of them completes.
#[derive(Clone, Copy)]
struct Forms {
    start: ServerAction<StartTwoFactor>,
    enable: ServerAction<EnableTwoFactor>,
    disable: ServerAction<DisableTwoFactor>,
    renew: ServerAction<RenewRecoveryCodes>,
    end_session: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
    password: ServerAction<ChangePassword>,
}

impl Forms {
    fn version(&self) -> [usize; 7] {
        [
            self.start.version().get(),
            self.enable.version().get(),
            self.disable.version().get(),
            self.renew.version().get(),
            self.end_session.version().get(),
            self.end_others.version().get(),
            self.password.version().get(),
        ]
    }
}

#[component]
pub fn SecurityPage() -> impl IntoView {
    let actions = expect_context::<AuthActions>();
    let forms = Forms {
        start: ServerAction::new(),
        enable: ServerAction::new(),
        disable: ServerAction::new(),
        renew: ServerAction::new(),
        end_session: ServerAction::new(),
        end_others: ServerAction::new(),
        password: ServerAction::new(),
    };
    let overview = Resource::new(
        move || (actions.version(), forms.version()),
        |_| security_settings(),
    );
    let flash = flash_error();

    view! {
        <Title text="Security · Coffer"/>
        <SignedInPage data=overview title="Security"
            sign_in="Sign in to manage two-factor authentication, your sessions and your password."
            page=move |overview| view! {
                <FormError result=Signal::derive(|| None) flash/>
                <Security overview forms/>
            }/>
    }
}

#[component]
fn Security(overview: SecurityOverview, forms: Forms) -> impl IntoView {
    let SecurityOverview {
        two_factor_enabled,
        pending,
        recovery_codes_left,
        sessions,
        new_recovery_codes,
        password_changed,
    } = overview;
    let new_codes = move || {
        forms
            .enable
            .value()
            .get()
            .and_then(Result::ok)
            .or_else(|| forms.renew.value().get().and_then(Result::ok))
            .or_else(|| new_recovery_codes.clone())
    };
    let password_changed =
        move || password_changed || matches!(forms.password.value().get(), Some(Ok(())));
    view! {
        <section class="card">
            <h1>"Security"</h1>
            <h2>"Two-factor authentication"</h2>
            {move || new_codes().map(|codes| view! { <RecoveryCodes codes/> })}
            {if two_factor_enabled {
                view! { <TwoFactorOn recovery_codes_left forms/> }.into_any()
            } else if let Some(setup) = pending {
                view! { <Enrolment setup forms/> }.into_any()
            } else {
                view! { <TwoFactorOff forms/> }.into_any()
            }}
        </section>
        <Sessions sessions forms/>
        <section class="card">
            <h2>"Change password"</h2>
            {move || password_changed().then(|| view! {
                <p class="ok" role="status" data-testid="password-changed">
                    "Password changed. Every other browser and API client has been signed out."
                </p>
            })}
            <ActionForm action=forms.password attr:class="stack narrow-form" attr:aria-label="Change password">
                <FormError result=forms.password.value()/>
                <label>"Current password"
                    <input type="password" name="current_password" autocomplete="current-password" required/>
                </label>
                <label>"New password"
                    <input type="password" name="new_password" autocomplete="new-password"
                        minlength=account_rules::MIN_PASSWORD_CHARS
                        maxlength=account_rules::MAX_PASSWORD_CHARS required/>
                    <small class="muted">{account_rules::password_hint()}</small>
                </label>
                <button type="submit">"Change password"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn TwoFactorOff(forms: Forms) -> impl IntoView {
    view! {
        <p data-testid="two-factor-status">"Off. With it on, signing in also asks for a code from an authenticator app on your phone."</p>
        <ActionForm action=forms.start attr:class="stack narrow-form" attr:aria-label="Set up two-factor authentication">
            <FormError result=Signal::derive(move || forms.start.value().get().map(|r| r.map(|_| ())))/>
            <CurrentPassword/>
            <button type="submit">"Set up two-factor authentication"</button>
        </ActionForm>
    }
}

#[component]
fn Enrolment(setup: TotpSetup, forms: Forms) -> impl IntoView {
    let grouped = setup.grouped_secret();
    view! {
        <div class="enrol" data-testid="enrolment">
            <ol class="steps">
                <li>"Scan this QR code with your authenticator app (or type the key below into it)."</li>
                <li>"Enter the six-digit code the app shows."</li>
            </ol>
            <img src=setup.qr_code alt="QR code to add Coffer to an authenticator app"
                width="220" height="220" class="qr" data-testid="totp-qr"/>
            <p>"Key: " <code class="secret" data-testid="totp-secret">{grouped}</code></p>
            <ActionForm action=forms.enable attr:class="stack narrow-form" attr:aria-label="Turn on two-factor authentication">
                <FormError result=Signal::derive(move || forms.enable.value().get().map(|r| r.map(|_| ())))/>
                <label>"Code from the app"
                    <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
                        pattern="[0-9 ]{6,7}" required data-testid="enrol-code"/>
                </label>
                <CurrentPassword/>
                <button type="submit">"Turn on"</button>
            </ActionForm>
            <Confirm ask="Start over with a new key" warning="The key shown above stops working; you scan a new one.">
                <ActionForm action=forms.start attr:class="stack narrow-form" attr:aria-label="Start over with a new key">
                    <CurrentPassword/>
                    <button type="submit">"Start over with a new key"</button>
                </ActionForm>
            </Confirm>
        </div>
    }
}

#[component]
fn TwoFactorOn(recovery_codes_left: u64, forms: Forms) -> impl IntoView {
    view! {
        <p data-testid="two-factor-status">
            <strong>"On."</strong> " Signing in asks for a code from your authenticator app. "
            {format!("{} left.", count(recovery_codes_left, "unused recovery code", "unused recovery codes"))}
        </p>
        <Confirm ask="Turn off" warning="Signing in then asks only for your password, and the recovery codes stop working.">
            <ActionForm action=forms.disable attr:class="stack narrow-form" attr:aria-label="Turn off two-factor authentication">
                <FormError result=forms.disable.value()/>
                <label>"A current code from the app (or a recovery code)"
                    <input type="text" name="code" autocomplete="one-time-code" required/>
                </label>
                <CurrentPassword/>
                <button type="submit" class="danger">"Turn off two-factor authentication"</button>
            </ActionForm>
        </Confirm>
        <Confirm ask="New recovery codes" warning="Ten new codes replace the old ones, used or not.">
            <ActionForm action=forms.renew attr:class="stack narrow-form" attr:aria-label="New recovery codes">
                <FormError result=Signal::derive(move || forms.renew.value().get().map(|r| r.map(|_| ())))/>
                <label>"A current code from the app (or a recovery code)"
                    <input type="text" name="code" autocomplete="one-time-code" required/>
                </label>
                <CurrentPassword/>
                <button type="submit">"Make new recovery codes"</button>
            </ActionForm>
        </Confirm>
    }
}

/// The account's password, asked again before a change to how it signs in.
#[component]
fn CurrentPassword() -> impl IntoView {
    view! {
        <label>"Your current password"
            <input type="password" name="current_password" autocomplete="current-password" required/>
        </label>
    }
}

/// The recovery codes, shown once, to copy or save.
#[component]
fn RecoveryCodes(codes: Vec<String>) -> impl IntoView {
    let text = format!(
        "Coffer recovery codes. Each works once, instead of a code from your app.\n\n{}\n",
        codes.join("\n")
    );
    let file = format!(
        "data:text/plain;charset=utf-8,{}",
        text.replace('%', "%25")
            .replace('\n', "%0A")
            .replace(' ', "%20")
    );
    view! {
        <div class="new-link" role="status" data-testid="recovery-codes">
            <p><strong>"Two-factor authentication is on."</strong>
                " Keep these recovery codes somewhere safe: each signs you in once if you lose your phone. They are shown only now."</p>
            <ol class="codes">
                {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
            </ol>
            <p class="actions-left">
                <a href=file download="coffer-recovery-codes.txt" class="button" data-testid="download-codes">"Download as .txt"</a>
                <CopyButton text/>
            </p>
        </div>
    }
}

#[component]
fn Sessions(sessions: Vec<SessionInfo>, forms: Forms) -> impl IntoView {
    let others = sessions.iter().filter(|s| !s.current).count();
    view! {
        <section class="card">
            <h2>"Signed-in browsers"</h2>
            <table class="data-table" data-testid="session-table">
                <thead>
                    <tr>
                        <th scope="col">"Browser"</th>
                        <th scope="col">"IP address"</th>
                        <th scope="col">"Signed in"</th>
                        <th scope="col">"Last seen"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {sessions.into_iter().map(|session| view! { <SessionRow session forms/> }).collect_view()}
                </tbody>
            </table>
            <FormError result=forms.end_session.value()/>
            <FormError result=forms.end_others.value()/>
            {(others > 0).then(|| view! {
                <ActionForm action=forms.end_others attr:class="inline">
                    <button type="submit" class="danger" data-testid="end-others">"Sign out everywhere else"</button>
                </ActionForm>
            })}
        </section>
    }
}

#[component]
fn SessionRow(session: SessionInfo, forms: Forms) -> impl IntoView {
    let id = session.id.clone();
    view! {
        <tr data-testid="session-row">
            <td class="name" title=session.user_agent.clone() data-testid="session-device">{session.device.clone()}</td>
            <td data-label="IP address">{session.ip.clone().unwrap_or_else(|| "unknown".to_owned())}</td>
            <td data-label="Signed in"><Time at=session.created_at/></td>
            <td data-label="Last seen"><Time at=session.last_seen_at/></td>
            <td class="actions">
                {if session.current {
                    view! { <span class="muted" data-testid="this-browser">"this browser"</span> }.into_any()
                } else {
                    view! {
                        <ActionForm action=forms.end_session attr:class="inline">
                            <input type="hidden" name="id" value=id/>
                            <button type="submit" class="link-button" data-testid="end-session">"Sign out"</button>
                        </ActionForm>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}
