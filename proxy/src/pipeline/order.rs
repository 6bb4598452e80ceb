//! The orderCall for a lead: every field the visit gave us, in CallKeeper's
//! terms, and the id CallKeeper knows the lead by.

use callkeeper::{Manager, OrderCall, UnixTime};
use protocol::PhoneNumber;

use crate::config::Site;
use crate::lead::Lead;

/// The orderCall for a lead: every field the visit gave us.
pub(super) fn order_for(lead: &Lead, site: &Site, phone: PhoneNumber) -> OrderCall {
    let request = &lead.request;
    let context = &request.context;
    let mut order = OrderCall::new(phone);
    order.manager = request.office.map(Manager::Office);
    order.office_name = request
        .office
        .and_then(|i| site.offices.get(i as usize).cloned());
    order.time_to_call = request
        .time
        .and_then(|t| u64::try_from(t).ok())
        .map(UnixTime::from_secs);
    order.site = Some(site.display_name.clone());
    order.current_page = context.current_page.clone();
    order.referrer = context.referrer.clone();
    order.entry_point = context.entry_page.clone();
    order.user_agent = context.user_agent.clone();
    order.utm_source = context.utm.source.clone();
    order.utm_medium = context.utm.medium.clone();
    order.utm_campaign = context.utm.campaign.clone();
    order.utm_content = context.utm.content.clone();
    order.utm_term = context.utm.term.clone();
    order.ga_client_id = context.ga_client_id.clone();
    order.roistat_id = context.roistat_visit.clone();
    order.calltouch_session_id = context.calltouch_session.clone();
    order.client_email = request.email.clone();
    order.ip_client = lead.ip.as_deref().and_then(|ip| ip.parse().ok());
    order.external_service_identifier = Some(external_id(&lead.id));
    order.tool_name = Some(
        site.tool_name
            .clone()
            .unwrap_or_else(|| "callback-widget".to_owned()),
    );
    order.notification = site.notification.clone();
    order.utc = site.utc.clone();
    order.opening_hours = site.opening_hours;
    order.interval = site.interval.clone();
    let page = context.current_page.as_deref();
    let office = order.office_name.clone();
    order.text_to_manager = site
        .text_to_manager
        .as_deref()
        .map(|t| site.ivr_text(t, page, office.as_deref()));
    order.info_to_manager = site
        .info_to_manager
        .as_deref()
        .map(|t| site.ivr_text(t, page, office.as_deref()));
    order
}

/// Our id for a lead in CallKeeper (`external_service_identifier`): derived
/// from the status token, not the token itself, which is the visitor's key
/// to the call's status and has no business in another system.
pub fn external_id(token: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(format!("lead:{token}").as_bytes())[..12])
}
