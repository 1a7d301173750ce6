//! Pages for signed-in users: the frame every such page renders its data in (loading, the page,
//! the sign-in card for a visitor, or the error in words), and the sign-in card itself.

use leptos::prelude::*;
use leptos_router::components::A;
use serde::{de::DeserializeOwned, Serialize};

use super::loading::Loading;
use crate::model::PageError;

/// What a page for signed-in users shows a visitor who is not signed in: the page's title, what
/// signing in is for, and the way to sign in.
#[component]
pub fn SignInCard(title: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>{title}</h1>
            <p>{text}</p>
            <p class="actions"><A href="/login" attr:class="button">"Sign in"</A></p>
        </section>
    }
}

/// A page for signed-in users, from its data (`None`: nobody is signed in): "Loading…" until
/// the data is there, then the page itself (`page`), the [`SignInCard`] for a visitor (`title`,
/// and `sign_in`, what signing in is for), or why the data could not be read, under the page's
/// title (with a way back, `back`, when there is one).
#[component]
pub fn SignedInPage<T, P, V>(
    data: Resource<Result<Option<T>, PageError>>,
    title: &'static str,
    sign_in: &'static str,
    page: P,
    #[prop(optional)] back: Option<(&'static str, &'static str)>,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    P: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Loading data show=move |data| match data {
            Ok(Some(data)) => page(data).into_any(),
            Ok(None) => view! { <SignInCard title text=sign_in/> }.into_any(),
            Err(e) => view! {
                <section class="card narrow">
                    <h1>{title}</h1>
                    <p class="form-error" role="alert">{e.detail}</p>
                    {back.map(|(href, label)| view! { <p><A href=href>{label}</A></p> })}
                </section>
            }.into_any(),
        }/>
    }
}
