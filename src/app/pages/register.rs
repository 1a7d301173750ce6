//! `/register`: create an account (the first one becomes admin) and sign in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::app::{
    components::form_error::{flash_error, FormError},
    context::AuthActions,
};
use crate::model::account_rules::{
    password_hint, username_hint, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, USERNAME_CHARS,
    USERNAME_PATTERN,
};

#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = expect_context::<AuthActions>().register;
    let flash = flash_error();
    view! {
        <Title text="Create account · Coffer"/>
        <section class="card narrow">
            <h1>"Create account"</h1>
            <ActionForm action=register attr:class="stack" attr:aria-label="Create account">
                <FormError result=register.value() flash/>
                <label>"Email"
                    <input type="email" name="email" autocomplete="email" required/>
                </label>
                <label>"Username"
                    <input type="text" name="username" autocomplete="username" required
                        minlength=*USERNAME_CHARS.start() maxlength=*USERNAME_CHARS.end()
                        pattern=USERNAME_PATTERN title=username_hint()/>
                </label>
                <label>"Password"
                    <input type="password" name="password" autocomplete="new-password" required
                        minlength=MIN_PASSWORD_CHARS maxlength=MAX_PASSWORD_CHARS/>
                    <small class="muted">{password_hint()}</small>
                </label>
                <button type="submit" disabled=move || register.pending().get()>
                    {move || if register.pending().get() { "Creating…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="muted">"Already have an account? " <A href="/login">"Sign in"</A></p>
        </section>
    }
}
