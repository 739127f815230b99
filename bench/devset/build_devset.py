"""Build the labelled development set (bench/devset/data/<system>.json) from the field specs below.

Headers follow each system's public documentation (Salesforce object reference, HubSpot default properties,
Dynamics 365 Web API entity reference, Pipedrive and Zoho CRM API field lists) or are messy spreadsheet headers
written by hand. Each spec line is `header | canonical field or - | value kind`; values come from generate_values.
Run: python bench/devset/build_devset.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate_values import ValueFactory

OUT = Path(__file__).parent / "data"

SPECS: dict[str, dict[str, str]] = {
    "salesforce": {
        "account": """
Id | account_id | sfid_001
Name | name | company
Website | website | url
Industry | industry | industry
NumberOfEmployees | employee_count | employees
AnnualRevenue | annual_revenue | revenue
Phone | phone | phone_us
Fax | - | phone_us
BillingStreet | billing_street | street
BillingCity | billing_city | city
BillingState | billing_state | state
BillingPostalCode | billing_postal_code | zip
BillingCountry | billing_country | country
ShippingCity | - | city
ShippingCountry | - | country
OwnerId | owner_id | sfid_005
Description | description | description
CreatedDate | created_at | dt_sf
LastModifiedDate | updated_at | dt_sf
ParentId | - | sfid_001
Rating | - | rating
Type | - | ownership
AccountNumber | - | codeid
Sic | - | sic
TickerSymbol | - | ticker
SLA__c | - | sla
NumberofLocations__c | - | small_int
""",
        "account_custom": """
Id | account_id | sfid_001
Name | name | company
Annual_Revenue__c | annual_revenue | revenue
Employees__c | employee_count | employees
HQ_Country__c | billing_country | country_code
Region__c | - | region
Customer_Since__c | - | date_iso
Account_Tier__c | - | segment
""",
        "opportunity": """
Id | opportunity_id | sfid_006
AccountId | account_id | sfid_001
Name | name | deal
Amount | amount | amount
CurrencyIsoCode | currency | currency
StageName | stage | stage_sf
Probability | probability | prob_int
CloseDate | close_date | date_iso
OwnerId | owner_id | sfid_005
LeadSource | lead_source | lead_source
Type | type | deal_type
CreatedDate | created_at | dt_sf
LastModifiedDate | updated_at | dt_sf
ExpectedRevenue | - | amount
ForecastCategoryName | - | forecast
NextStep | - | next_step
IsClosed | - | bool
TotalOpportunityQuantity | - | quantity
CampaignId | - | sfid_00q
Discount__c | - | prob_pct
""",
        "contact": """
Id | contact_id | sfid_003
AccountId | account_id | sfid_001
FirstName | first_name | first
LastName | last_name | last
Email | email | email
Phone | phone | phone_us
MobilePhone | mobile_phone | phone_intl
HomePhone | - | phone_us
Fax | - | phone_us
Title | title | title
Department | department | department
MailingCity | mailing_city | city
MailingCountry | mailing_country | country
MailingStreet | - | street
MailingPostalCode | - | zip
OtherCity | - | city
OwnerId | owner_id | sfid_005
LeadSource | lead_source | lead_source
CreatedDate | created_at | dt_sf
LastModifiedDate | updated_at | dt_sf
Birthdate | - | birthdate
Salutation | - | salutation
ReportsToId | - | sfid_003
LinkedIn_Profile__c | - | linkedin
""",
    },
    "hubspot": {
        "account": """
hs_object_id | account_id | numid
name | name | company
domain | website | domain
industry | industry | industry_upper
numberofemployees | employee_count | employees_str
annualrevenue | annual_revenue | revenue
phone | phone | phone_intl
address | billing_street | street
city | billing_city | city
state | billing_state | state_name
zip | billing_postal_code | zip
country | billing_country | country
hubspot_owner_id | owner_id | numid
description | description | description
createdate | created_at | dt_iso
hs_lastmodifieddate | updated_at | dt_iso
lifecyclestage | - | lifecycle
hs_lead_status | - | priority
timezone | - | timezone
linkedin_company_page | - | linkedin
num_associated_contacts | - | count_small
hs_num_open_deals | - | count_small
total_money_raised | - | revenue_usd
founded_year | - | fiscal
""",
        "opportunity": """
hs_object_id | opportunity_id | numid
dealname | name | deal
amount | amount | amount_str
deal_currency_code | currency | currency
dealstage | stage | stage_hs
hs_deal_stage_probability | probability | prob_frac
closedate | close_date | dt_iso
hubspot_owner_id | owner_id | numid
dealtype | type | deal_type
createdate | created_at | dt_iso
hs_lastmodifieddate | updated_at | dt_iso
associatedcompanyid | account_id | numid
pipeline | - | pipeline
hs_is_closed_won | - | bool_str
amount_in_home_currency | - | amount_str
hs_forecast_category | - | forecast
closed_lost_reason | - | lost_reason
hs_priority | - | priority
num_contacted_notes | - | count_small
hs_analytics_source | lead_source | lead_source
""",
        "contact": """
hs_object_id | contact_id | numid
firstname | first_name | first
lastname | last_name | last
email | email | email
phone | phone | phone_intl
mobilephone | mobile_phone | phone_intl
jobtitle | title | title
company | account_id | company
city | mailing_city | city
country | mailing_country | country
hubspot_owner_id | owner_id | numid
hs_lead_status | - | priority
lifecyclestage | - | lifecycle
createdate | created_at | dt_iso
lastmodifieddate | updated_at | dt_iso
fax | - | phone_intl
address | - | street
zip | - | zip
hs_linkedin_url | - | linkedin
twitterhandle | - | twitter
hs_language | - | language
num_notes | - | count_small
""",
    },
    "dynamics": {
        "account": """
accountid | account_id | guid
name | name | company
websiteurl | website | url
industrycode | industry | industry
numberofemployees | employee_count | employees
revenue | annual_revenue | revenue
telephone1 | phone | phone_intl
telephone2 | - | phone_intl
fax | - | phone_intl
address1_line1 | billing_street | street
address1_city | billing_city | city
address1_stateorprovince | billing_state | state_name
address1_postalcode | billing_postal_code | zip
address1_country | billing_country | country
address2_city | - | city
_ownerid_value | owner_id | guid
description | description | description
createdon | created_at | dt_iso
modifiedon | updated_at | dt_iso
_parentaccountid_value | - | guid
accountnumber | - | codeid
tickersymbol | - | ticker
creditlimit | - | revenue
emailaddress1 | - | email
statecode | - | active
""",
        "opportunity": """
opportunityid | opportunity_id | guid
_parentaccountid_value | account_id | guid
name | name | deal
estimatedvalue | amount | amount
closeprobability | probability | prob_int
estimatedclosedate | close_date | date_iso
actualclosedate | - | date_iso
stepname | stage | stage_generic
statecode | status | status_title
_ownerid_value | owner_id | guid
createdon | created_at | dt_iso
modifiedon | updated_at | dt_iso
opportunityratingcode | - | rating
budgetamount | - | amount
purchasetimeframe | - | fiscal
description | - | next_step
actualvalue | - | amount
prioritycode | - | priority
_campaignid_value | - | guid
""",
        "contact": """
contactid | contact_id | guid
_parentcustomerid_value | account_id | guid
firstname | first_name | first
lastname | last_name | last
emailaddress1 | email | email
emailaddress2 | - | email
telephone1 | phone | phone_intl
mobilephone | mobile_phone | phone_intl
fax | - | phone_intl
jobtitle | title | title
department | department | department
address1_city | mailing_city | city
address1_country | mailing_country | country
address1_line1 | - | street
address1_postalcode | - | zip
_ownerid_value | owner_id | guid
leadsourcecode | lead_source | lead_source
createdon | created_at | dt_iso
modifiedon | updated_at | dt_iso
birthdate | - | birthdate
gendercode | - | salutation
preferredcontactmethodcode | - | priority
""",
    },
    "pipedrive": {
        "account": """
id | account_id | smallid
name | name | company
owner_id | owner_id | smallid
address | billing_street | street
address_locality | billing_city | city
address_admin_area_level_1 | billing_state | state_name
address_postal_code | billing_postal_code | zip
address_country | billing_country | country
add_time | created_at | dt_space
update_time | updated_at | dt_space
people_count | - | count_small
open_deals_count | - | count_small
won_deals_count | - | count_small
label | - | priority
visible_to | - | smallid
cc_email | - | email
""",
        "opportunity": """
id | opportunity_id | smallid
title | name | deal
value | amount | amount
currency | currency | currency
stage_id | stage | stage_id
probability | probability | prob_int
expected_close_date | close_date | date_iso
status | status | status
user_id | owner_id | smallid
org_id | account_id | smallid
add_time | created_at | dt_space
update_time | updated_at | dt_space
won_time | - | dt_space
lost_reason | - | lost_reason
pipeline_id | - | count_small
person_id | - | smallid
products_count | - | count_small
weighted_value | - | amount
""",
        "contact": """
id | contact_id | smallid
first_name | first_name | first
last_name | last_name | last
email | email | email
phone | phone | phone_intl
org_id | account_id | smallid
owner_id | owner_id | smallid
job_title | title | title
add_time | created_at | dt_space
update_time | updated_at | dt_space
open_deals_count | - | count_small
label | - | priority
visible_to | - | smallid
last_activity_date | - | date_iso
""",
    },
    "zoho": {
        "account": """
id | account_id | bigid
Account_Name | name | company
Website | website | url
Industry | industry | industry
Employees | employee_count | employees
Annual_Revenue | annual_revenue | revenue
Phone | phone | phone_intl
Fax | - | phone_intl
Billing_Street | billing_street | street
Billing_City | billing_city | city
Billing_State | billing_state | state
Billing_Code | billing_postal_code | zip
Billing_Country | billing_country | country
Shipping_City | - | city
Owner | owner_id | full_name
Description | description | description
Created_Time | created_at | dt_iso
Modified_Time | updated_at | dt_iso
Account_Type | - | ownership
Rating | - | rating
Ownership | - | ownership
SIC_Code | - | sic
Parent_Account | - | company
Account_Number | - | codeid
""",
        "opportunity": """
id | opportunity_id | bigid
Deal_Name | name | deal
Amount | amount | amount
Currency | currency | currency
Stage | stage | stage_sf
Probability | probability | prob_int
Closing_Date | close_date | date_iso
Account_Name | account_id | company
Owner | owner_id | full_name
Lead_Source | lead_source | lead_source
Type | type | deal_type
Created_Time | created_at | dt_iso
Modified_Time | updated_at | dt_iso
Expected_Revenue | - | amount
Next_Step | - | next_step
Contact_Name | - | full_name
Campaign_Source | - | campaign
Reason_For_Loss__s | - | lost_reason
""",
        "contact": """
id | contact_id | bigid
First_Name | first_name | first
Last_Name | last_name | last
Email | email | email
Secondary_Email | - | email
Phone | phone | phone_intl
Mobile | mobile_phone | phone_intl
Home_Phone | - | phone_intl
Title | title | title
Department | department | department
Account_Name | account_id | company
Mailing_City | mailing_city | city
Mailing_Country | mailing_country | country
Mailing_Zip | - | zip
Owner | owner_id | full_name
Lead_Source | lead_source | lead_source
Created_Time | created_at | dt_iso
Modified_Time | updated_at | dt_iso
Date_of_Birth | - | birthdate
Skype_ID | - | twitter
Email_Opt_Out | - | bool
""",
    },
    "sheets_en": {
        "account": """
Cust ID | account_id | codeid
Company name | name | company
Web | website | domain
Sector | industry | industry
# Employees | employee_count | employees_str
Annual Rev ($) | annual_revenue | revenue_usd
Main Phone # | phone | phone_us
Street Address | billing_street | street
City/Town | billing_city | city
State/Prov | billing_state | state
ZIP | billing_postal_code | zip
Country/Region | billing_country | country_code
Acct Owner | owner_id | full_name
Notes | description | description
Date Added | created_at | date_us
Last Updated | updated_at | date_us
Tax ID | - | tax_id
LinkedIn URL | - | linkedin
favorite_color | - | color
Customer Tier | - | segment
NPS | - | nps
DUNS Number | - | duns
Account Health | - | priority
""",
        "opportunity": """
Deal # | opportunity_id | codeid
Opp Name | name | deal
Client | account_id | company
Deal Amt | amount | amount_str
Ccy | currency | currency
Sales Stage | stage | stage_generic
Win Prob. | probability | prob_pct
Exp. Close Dt | close_date | date_us
Won/Lost? | status | status_title
Sales Rep | owner_id | full_name
Source | lead_source | lead_source
New vs Renewal | type | deal_type
Created On | created_at | date_us
Last Modifed | updated_at | date_us
Competitor | - | company
Next Steps | - | next_step
Fiscal Qtr | - | fiscal
Priority | - | priority
Qty | - | quantity
""",
        "contact": """
Contact ID | contact_id | codeid
First | first_name | first
Surname | last_name | last
E-mail Address | email | email
Work Phone | phone | phone_us
Cell | mobile_phone | phone_us
Job Title | title | title
Dept. | department | department
Company | account_id | company
Town | mailing_city | city
Country | mailing_country | country
Owner | owner_id | full_name
How did they find us | lead_source | lead_source
Date Created | created_at | date_us
Modified | updated_at | date_us
LinkedIn | - | linkedin
Twitter handle | - | twitter
Birthday | - | birthdate
Preferred Language | - | language
GDPR consent | - | gdpr
Hobby | - | hobby
""",
    },
    "sheets_intl": {
        "account": """
Kundennr. | account_id | codeid
Firma | name | company_de
Webseite | website | domain
Branche | industry | industry_de
Mitarbeiter | employee_count | employees
Umsatz | annual_revenue | revenue_de
Telefon | phone | phone_de
Straße | billing_street | street_de
Ort | billing_city | city_de
PLZ | billing_postal_code | plz
Land | billing_country | country_de
Bundesland | billing_state | state_name
Betreuer | owner_id | full_name
Bemerkungen | description | description
Erstellt am | created_at | date_de
Geändert am | updated_at | date_de
USt-IdNr. | - | vat
Steuernummer | - | tax_id
Kundenklasse | - | segment
Lieblingsfarbe | - | color
""",
        "opportunity": """
ID Oportunidad | opportunity_id | codeid
Nombre de la oportunidad | name | deal
Empresa | account_id | company_es
Importe | amount | amount_eur
Moneda | currency | currency
Etapa | stage | stage_generic
Probabilidad (%) | probability | prob_int
Fecha de cierre | close_date | date_fr
Estado | status | status
Propietario | owner_id | full_name
Origen | lead_source | lead_source
Tipo | type | deal_type
Fecha de creación | created_at | date_fr
Última modificación | updated_at | date_fr
Motivo de pérdida | - | lost_reason
Competidor | - | company_es
Región | - | region
Cantidad de licencias | - | quantity
""",
        "contact": """
Prénom | first_name | first
Nom | last_name | last
Courriel | email | email
Téléphone | phone | phone_intl
Portable | mobile_phone | phone_intl
Fonction | title | title
Service | department | department
Société | account_id | company_fr
Ville | mailing_city | city_fr
Pays | mailing_country | country
Date de création | created_at | date_fr
Civilité | - | salutation
Date de naissance | - | birthdate
Langue | - | language
Adresse | - | street_fr
Code postal | - | zip
Consentement RGPD | - | gdpr
""",
    },
    "sheets_mixed": {
        "account": """
Klant ID | account_id | codeid
Bedrijfsnaam | name | company
Ragione Sociale (IT) | - | company
Settore | industry | industry
Nº Funcionários | employee_count | employees
Faturamento anual | annual_revenue | revenue
Telefono | phone | phone_intl
Indirizzo | billing_street | street
Cidade | billing_city | city
Código Postal | billing_postal_code | zip
País | billing_country | country
Sito web | website | url
Descrizione | description | description
Data di creazione | created_at | date_fr
Partita IVA | - | vat
Numero di sedi | - | small_int
Cor favorita | - | color
""",
        "opportunity": """
OPPORTUNITY_KEY | opportunity_id | guid
ACCOUNT_KEY | account_id | guid
OPP_TITLE | name | deal
TOTAL_VALUE_EUR | amount | amount
CURR_CODE | currency | currency
PIPELINE_STAGE | stage | stage_generic
WIN_PCT | probability | prob_int
TARGET_CLOSE | close_date | date_iso
OUTCOME | status | status
REP_ID | owner_id | smallid
ORIGIN_CHANNEL | lead_source | lead_source
CREATED_TS | created_at | epoch_ms
UPDATED_TS | updated_at | epoch_ms
DISCOUNT_PCT | - | prob_int
SEATS | - | quantity
RISK_SCORE | - | score
ERP_REF | - | ext_ref
""",
        "contact": """
person.id | contact_id | objid
person.name.first | first_name | first
person.name.last | last_name | last
person.contact.email | email | email
person.contact.phone.work | phone | phone_intl
person.contact.phone.mobile | mobile_phone | phone_intl
person.employer.id | account_id | objid
person.role | title | title
person.team | department | department
person.address.city | mailing_city | city
person.address.country | mailing_country | country_code
person.address.zip | - | zip
person.meta.created | created_at | dt_iso
person.meta.updated | updated_at | dt_iso
person.meta.source | lead_source | lead_source
person.preferences.newsletter | - | bool
person.score | - | score
person.social.linkedin | - | linkedin
""",
    },
}


def build_table(system: str, entity: str, spec: str) -> dict[str, object]:
    """One labelled table (a key like account_custom is a second table of the entity)."""
    entity = entity.split("_")[0]
    fields = []
    for line in spec.strip().splitlines():
        header, label, kind = (
            (part.strip() for part in line.rsplit("|", 2))
            if line.startswith("#")
            else (part.strip() for part in line.split("|"))
        )
        values = ValueFactory(f"{system}/{entity}/{header}").values(kind)
        fields.append({"name": header, "label": None if label == "-" else label, "kind": kind, "values": values})
    return {"system": system, "entity": entity, "fields": fields}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for system, tables in SPECS.items():
        doc = {"system": system, "tables": [build_table(system, e, s) for e, s in tables.items()]}
        (OUT / f"{system}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(system, sum(len(t["fields"]) for t in doc["tables"]))  # type: ignore[arg-type, misc]


if __name__ == "__main__":
    main()
