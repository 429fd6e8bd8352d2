"""Microsoft Advertising (Bing Ads) connector: Reporting service reports through the official bingads SDK."""

import logging

# suds logs whole WSDLs and SOAP envelopes (AuthenticationToken and DeveloperToken headers included) at DEBUG;
# set before the SDK is first imported, which already parses a WSDL.
logging.getLogger("suds").setLevel(logging.INFO)
