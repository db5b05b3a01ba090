"""The fixed vocabulary the demo data set draws from: companies, people, streets, products and phrases.

Kept apart from ``demo`` so the loader reads as the story of an order desk, not as a list of names.
"""
from __future__ import annotations

from app.core.choices import PriceType, SpecKind, ValueType

# name, industry, city, state/region, postal code, country, email domain
ACCOUNTS = (
    ("Northwind Logistics", "Logistics", "Chicago", "IL", "60607", "US", "northwind-logistics.example"),
    ("Harbor Point Hotels", "Hospitality", "San Diego", "CA", "92101", "US", "harborpoint.example"),
    ("Crestline Manufacturing", "Manufacturing", "Detroit", "MI", "48226", "US", "crestline-mfg.example"),
    ("Meridian Health Partners", "Healthcare", "Boston", "MA", "02110", "US", "meridianhealth.example"),
    ("Summit Retail Group", "Retail", "Denver", "CO", "80202", "US", "summitretail.example"),
    ("Blue Ridge Construction", "Construction", "Charlotte", "NC", "28202", "US", "blueridge-build.example"),
    ("Pacific Rim Foods", "Food & Beverage", "Seattle", "WA", "98101", "US", "pacificrimfoods.example"),
    ("Atlas Financial Services", "Financial Services", "New York", "NY", "10005", "US", "atlasfinancial.example"),
    ("Evergreen School District", "Education", "Portland", "OR", "97204", "US", "evergreen-sd.example"),
    ("Ironwood Energy", "Energy", "Houston", "TX", "77002", "US", "ironwood-energy.example"),
    ("Lakeside Medical Center", "Healthcare", "Minneapolis", "MN", "55401", "US", "lakesidemedical.example"),
    ("Redwood Data Systems", "Technology", "San Jose", "CA", "95113", "US", "redwooddata.example"),
    ("Granite State Insurance", "Insurance", "Manchester", "NH", "03101", "US", "granitestate-ins.example"),
    ("Cascade Outdoor Supply", "Retail", "Boise", "ID", "83702", "US", "cascadeoutdoor.example"),
    ("Keystone Automotive Parts", "Automotive", "Pittsburgh", "PA", "15222", "US", "keystone-auto.example"),
    ("Orion Aerospace Components", "Aerospace", "Wichita", "KS", "67202", "US", "orion-aero.example"),
    ("Bayview Property Management", "Real Estate", "Tampa", "FL", "33602", "US", "bayview-pm.example"),
    ("Sterling Legal LLP", "Legal Services", "Washington", "DC", "20005", "US", "sterlinglegal.example"),
)
# Subsidiaries: (name, parent index in ACCOUNTS, city, state, postal code)
SUBSIDIARIES = (
    ("Northwind Logistics West", 0, "Reno", "NV", "89501"),
    ("Summit Retail Outlets", 4, "Colorado Springs", "CO", "80903"),
)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Isabella", "Lucas", "Mia", "Logan",
    "Amelia", "James", "Harper", "Elijah", "Evelyn", "Daniel", "Abigail", "Henry", "Grace", "Samuel", "Chloe",
    "Jack", "Priya", "Wei", "Mateo", "Fatima", "Kenji", "Aisha",
)
LAST_NAMES = (
    "Anderson", "Brooks", "Carter", "Diaz", "Evans", "Foster", "Garcia", "Hughes", "Ito", "Jensen", "Kim",
    "Lopez", "Morgan", "Nguyen", "Owens", "Patel", "Quinn", "Reyes", "Schmidt", "Turner", "Underwood",
    "Vasquez", "Walsh", "Young", "Zimmerman", "Okafor", "Chen", "Novak",
)
JOB_TITLES = ("Procurement Manager", "IT Director", "Office Manager", "Facilities Lead", "Buyer", "Controller")

STREETS = (
    "Market Street", "Commerce Drive", "Industrial Parkway", "Harbor Boulevard", "Main Street", "Oak Avenue",
    "Technology Way", "Riverside Drive", "Airport Road", "Lake Shore Drive", "Elm Street", "Park Place",
)
SITE_NAMES = ("Headquarters", "Distribution Center", "Branch Office", "Data Center", "Warehouse", "Plant 2")

# Specifications: name, kind, characteristic definitions (name, value type, allowed values), offerings
# (tier name, unit price, price type).
ONE, MONTHLY = PriceType.ONE_TIME, PriceType.RECURRING
SPECIFICATIONS = (
    ("Business Laptop", SpecKind.PRODUCT,
     (("Memory", ValueType.STRING, "16 GB,32 GB,64 GB"), ("Keyboard layout", ValueType.STRING, "US,UK,DE"),
      ("Warranty years", ValueType.NUMBER, "1,3,5")),
     (("14-inch Standard", "1149.00", ONE), ("14-inch Pro", "1599.00", ONE), ("16-inch Performance", "2249.00", ONE))),
    ("Desktop Workstation", SpecKind.PRODUCT,
     (("Memory", ValueType.STRING, "32 GB,64 GB,128 GB"), ("Storage", ValueType.STRING, "512 GB SSD,1 TB SSD,2 TB SSD")),
     (("Compact", "989.00", ONE), ("Tower", "1890.00", ONE), ("GPU Tower", "3420.00", ONE))),
    ("Monitor", SpecKind.PRODUCT,
     (("Size", ValueType.STRING, "24 in,27 in,32 in"), ("Height-adjustable stand", ValueType.BOOLEAN, "")),
     (("24-inch FHD", "189.00", ONE), ("27-inch QHD", "329.00", ONE), ("32-inch 4K", "579.00", ONE))),
    ("IP Desk Phone", SpecKind.PRODUCT,
     (("Colour", ValueType.STRING, "Black,White"), ("Power over Ethernet", ValueType.BOOLEAN, "")),
     (("Basic", "129.00", ONE), ("Executive", "289.00", ONE))),
    ("Network Switch", SpecKind.PRODUCT,
     (("Ports", ValueType.NUMBER, "24,48"), ("Power over Ethernet", ValueType.BOOLEAN, "")),
     (("24-port Managed", "1240.00", ONE), ("48-port Managed PoE", "2980.00", ONE))),
    ("Wireless Access Point", SpecKind.PRODUCT,
     (("Standard", ValueType.STRING, "Wi-Fi 6,Wi-Fi 6E,Wi-Fi 7"), ("Mounting", ValueType.STRING, "Ceiling,Wall")),
     (("Indoor", "349.00", ONE), ("Indoor High Density", "689.00", ONE), ("Outdoor", "899.00", ONE))),
    ("Rugged Tablet", SpecKind.PRODUCT,
     (("Connectivity", ValueType.STRING, "Wi-Fi,LTE,5G"), ("Memory", ValueType.STRING, "8 GB,16 GB")),
     (("10-inch", "1290.00", ONE), ("12-inch", "1680.00", ONE))),
    ("Label Printer", SpecKind.PRODUCT,
     (("Media width", ValueType.STRING, "2 in,4 in"), ("Interface", ValueType.STRING, "USB,Ethernet,Wi-Fi")),
     (("Desktop", "415.00", ONE), ("Industrial", "1875.00", ONE))),
    ("Server Rack", SpecKind.PRODUCT,
     (("Height", ValueType.STRING, "24U,42U,48U"),),
     (("Open Frame", "760.00", ONE), ("Enclosed", "1430.00", ONE))),
    ("UPS Battery Backup", SpecKind.PRODUCT,
     (("Capacity", ValueType.STRING, "1500 VA,3000 VA,6000 VA"), ("Rack mounted", ValueType.BOOLEAN, "")),
     (("Tower 1500 VA", "640.00", ONE), ("Rack 3000 VA", "1690.00", ONE), ("Rack 6000 VA", "3950.00", ONE))),
    ("Docking Station", SpecKind.PRODUCT,
     (("Connector", ValueType.STRING, "USB-C,Thunderbolt 4"), ("Display outputs", ValueType.NUMBER, "2,3")),
     (("USB-C Basic", "149.00", ONE), ("USB-C Dual 4K", "239.00", ONE), ("Thunderbolt Pro", "329.00", ONE))),
    ("Headset", SpecKind.PRODUCT,
     (("Wearing style", ValueType.STRING, "Mono,Stereo"), ("Noise cancelling", ValueType.BOOLEAN, "")),
     (("Wired Mono", "79.00", ONE), ("Wireless Stereo", "199.00", ONE), ("Wireless ANC", "289.00", ONE))),
    ("Business Internet Access", SpecKind.SERVICE,
     (("Bandwidth (Mbps)", ValueType.NUMBER, "100,500,1000,10000"), ("Static IP addresses", ValueType.NUMBER, "1,5,13"),
      ("Access type", ValueType.STRING, "Fiber,Ethernet,Fixed wireless")),
     (("Essential", "149.00", MONTHLY), ("Professional", "349.00", MONTHLY), ("Enterprise", "899.00", MONTHLY))),
    ("SD-WAN Site", SpecKind.SERVICE,
     (("Bandwidth (Mbps)", ValueType.NUMBER, "50,200,500,1000"), ("High availability", ValueType.BOOLEAN, "")),
     (("Branch", "220.00", MONTHLY), ("Hub", "640.00", MONTHLY), ("Data Center", "1350.00", MONTHLY))),
    ("Managed Firewall", SpecKind.SERVICE,
     (("Throughput", ValueType.STRING, "1 Gbps,5 Gbps,10 Gbps"), ("Threat prevention", ValueType.BOOLEAN, "")),
     (("Small Site", "185.00", MONTHLY), ("Campus", "720.00", MONTHLY))),
    ("Cloud PBX Seat", SpecKind.SERVICE,
     (("Calling plan", ValueType.STRING, "National,International"), ("Call recording", ValueType.BOOLEAN, "")),
     (("Standard Seat", "19.00", MONTHLY), ("Contact Center Seat", "59.00", MONTHLY))),
    ("Dedicated Ethernet Line", SpecKind.SERVICE,
     (("Bandwidth (Mbps)", ValueType.NUMBER, "100,1000,10000"), ("Far-end site", ValueType.STRING, "")),
     (("Metro", "780.00", MONTHLY), ("Long Haul", "1960.00", MONTHLY))),
    ("Managed Wi-Fi", SpecKind.SERVICE,
     (("Access points", ValueType.NUMBER, ""), ("Guest portal", ValueType.BOOLEAN, "")),
     (("Office", "310.00", MONTHLY), ("Venue", "990.00", MONTHLY))),
    ("Field Installation Service", SpecKind.SERVICE,
     (("Visit window", ValueType.STRING, "Morning,Afternoon,Evening"), ("Technicians", ValueType.NUMBER, "1,2,3")),
     (("Standard Install", "450.00", ONE), ("Complex Install", "1250.00", ONE), ("After-hours Install", "1650.00", ONE))),
    ("Premium Support Plan", SpecKind.SERVICE,
     (("Response time", ValueType.STRING, "4 h,8 h,Next business day"),),
     (("Business Hours", "95.00", MONTHLY), ("24x7", "240.00", MONTHLY))),
)

CASE_SUBJECTS = {
    "Quantity change": ("Customer needs more units than ordered", "Reduce quantity after budget review",
                        "Quantity on order does not match PO"),
    "Delivery date change": ("Earlier delivery requested for site opening", "Delay delivery until site is ready",
                             "Delivery date conflicts with customer holiday shutdown"),
    "Address change": ("Ship to the new warehouse instead", "Service address entered incorrectly",
                       "Deliver to branch office"),
    "Price dispute": ("Invoice price differs from contract price", "Discount from the framework agreement missing",
                      "Customer disputes recurring charge"),
    "Wrong item": ("Wrong model delivered", "Ordered tier does not match the quote", "Replacement product needed"),
    "Line cancellation": ("Cancel one line of the order", "Item no longer needed", "Duplicate line on order"),
    "Order cancellation": ("Cancel the whole order", "Project cancelled by customer", "Order placed twice"),
    "Inquiry": ("Where is my order?", "Question about order status", "Customer asks for delivery tracking"),
}
COMMENTS = (
    "Thanks for the quick reply. We'll confirm with our site manager today.",
    "We have updated the purchase order on our side; please proceed.",
    "Could you send the revised order confirmation to our accounts payable team?",
    "The site will be ready on the new date, access is via the loading dock.",
    "We received a partial shipment yesterday; the rest is still missing.",
)
WORK_NOTES = (
    "Checked with the warehouse: stock available for the requested quantity.",
    "Contract 2024-FRM-117 confirms the discounted unit price.",
    "Carrier confirmed the earlier slot is possible for an expedite fee (waived).",
    "Fulfilment team says the line has not been picked yet; change is safe.",
    "Escalated to the account manager for a pricing decision.",
    "Customer called in; verbal confirmation logged.",
)
QUESTIONS = (
    "Could you confirm the purchase order number this change relates to?",
    "Please confirm the contact who will receive the delivery at the new address.",
    "Which invoice shows the price you are disputing?",
)
INTERACTION_TOPICS = (
    "Customer calls about a late delivery",
    "Chat: question about invoice charges",
    "Email: request to change delivery address",
    "Walk-in: returning a wrong item",
    "Call: wants to add seats to the Cloud PBX order",
    "Email: asks for an earlier installation date",
    "Call: disputes the monthly internet charge",
    "Chat: general question about order status",
)
