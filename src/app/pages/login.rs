//! `/login`: email and password, then, for an account with two-factor authentication,
//! `/login/code`: a code from the authenticator app or a recovery code. Plain forms that work
//! without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::app::{
    api::auth::login_pending,
    components::form_error::{flash_error, FormError},
    context::AuthActions,
};

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = expect_context::<AuthActions>().login;
    let flash = flash_error();
    view! {
        <Title text="Sign in · Coffer"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ActionForm action=login attr:class="stack" attr:aria-label="Sign in">
                <FormError result=login.value() flash/>
                <label>"Email"
                    <input type="email" name="email" autocomplete="username" required/>
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <button type="submit" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="muted">"No account yet? " <A href="/register">"Create one"</A></p>
        </section>
    }
}

#[component]
pub fn LoginCodePage() -> impl IntoView {
    let login_code = expect_context::<AuthActions>().login_code;
    let pending = Resource::new(|| (), |_| login_pending());
    let flash = flash_error();
    view! {
        <Title text="Two-factor code · Coffer"/>
        <section class="card narrow">
            <h1>"Two-factor code"</h1>
            <Transition fallback=|| ()>
                {move || pending.get().map(|pending| match pending {
                    Ok(true) => view! {
                        <ActionForm action=login_code attr:class="stack" attr:aria-label="Two-factor code">
                            <FormError result=login_code.value() flash/>
                            <p>"Enter the six-digit code your authenticator app shows for Coffer, or one of your recovery codes."</p>
                            <label>"Code"
                                <input type="text" name="code" autocomplete="one-time-code"
                                    autocapitalize="off" spellcheck="false" required autofocus
                                    data-testid="login-code"/>
                            </label>
                            <button type="submit" disabled=move || login_code.pending().get()>
                                {move || if login_code.pending().get() { "Checking…" } else { "Sign in" }}
                            </button>
                        </ActionForm>
                    }.into_any(),
                    Ok(false) => view! {
                        <FormError result=Signal::derive(|| None) flash/>
                        <p>"There is no sign-in waiting for a code here, or it took longer than five minutes."</p>
                        <p class="actions"><A href="/login" attr:class="button">"Sign in"</A></p>
                    }.into_any(),
                    Err(e) => view! { <p class="form-error" role="alert">{e.detail}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
