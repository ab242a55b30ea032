"""Every Shopify Admin GraphQL document we send, and the documented shapes they are checked against.

No schema snapshot of the Admin API is available offline, so DOCUMENTED_SCHEMA is the subset
of it we use, written from Shopify's documentation pages (see shared/MARKETPLACE_APIS.md, B).
Tests validate each document and each test double against it with graphql-core; once an
introspection snapshot of the pinned version is at hand, it replaces this SDL in one place.
Fields marked UNV there (productSet's `identifier`, `InventoryItemInput`) are the first to check;
the order fields (shippingAddress, fulfillments, fulfillmentOrders, displayFinancialStatus) and
fulfillmentCreate's input are from the Order, FulfillmentOrder, Fulfillment and FulfillmentInput pages.
"""

PRODUCT_BY_SKU = """
query ProductBySku($query: String!) {
  productVariants(first: 1, query: $query) {
    nodes { id sku product { id status } }
  }
}
"""

PRODUCT_SET = """
mutation ProductSet($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
  productSet(synchronous: true, input: $input, identifier: $identifier) {
    product { id status variants(first: 1) { nodes { id sku price inventoryItem { id } } } }
    userErrors { field message }
  }
}
"""

PRODUCTS_FOR_UPDATE = """
query ProductsForUpdate($ids: [ID!]!) {
  nodes(ids: $ids) {
    __typename
    ... on Product {
      id
      variants(first: 1) {
        nodes {
          id
          sku
          inventoryItem { id inventoryLevels(first: 1) { nodes { location { id } } } }
        }
      }
    }
  }
}
"""

PRODUCT_UPDATE_STATUS = """
mutation ProductUpdateStatus($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id status }
    userErrors { field message }
  }
}
"""

PRODUCT_STATE = """
query ProductState($id: ID!) {
  product(id: $id) {
    id
    status
    variants(first: 1) { nodes { id sku price inventoryQuantity } }
  }
}
"""

ORDER_FIELDS = """
      id
      name
      createdAt
      cancelledAt
      test
      displayFinancialStatus
      displayFulfillmentStatus
      fulfillments(first: 20) { status displayStatus deliveredAt }
      lineItems(first: 100) {
        nodes {
          id
          sku
          title
          quantity
          currentQuantity
          product { id }
          originalUnitPriceSet { shopMoney { amount currencyCode } }
        }
      }"""
# Needs the app's approval for protected customer data (settings.SHOPIFY_PROTECTED_CUSTOMER_DATA).
SHIPPING_ADDRESS_FIELDS = """
      shippingAddress { name company address1 address2 city province zip countryCodeV2 phone }"""
# Needs the fulfillment-order scopes (a store connected before shipping came has not granted them).
FULFILLMENT_ORDER_FIELDS = """
      fulfillmentOrders(first: 10) { nodes { status fulfillBy } }"""


def orders_query(*, addresses: bool, fulfillment_orders: bool) -> str:
    """The `Orders` document: the ship-to address and the fulfillment orders' fulfil-by dates only
    where the app and the store's grant allow them (asking for more is refused as a whole)."""
    fields = ORDER_FIELDS
    if addresses:
        fields += SHIPPING_ADDRESS_FIELDS
    if fulfillment_orders:
        fields += FULFILLMENT_ORDER_FIELDS
    return (
        "query Orders($first: Int!, $after: String, $query: String) {\n"
        "  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {\n"
        "    pageInfo { hasNextPage endCursor }\n"
        "    nodes {" + fields + "\n    }\n  }\n}\n"
    )


ORDERS = orders_query(addresses=True, fulfillment_orders=True)

ORDER_FULFILLMENT_ORDERS = """
query OrderFulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillmentOrders(first: 10) {
      nodes {
        id
        status
        lineItems(first: 100) { nodes { id remainingQuantity lineItem { id } } }
      }
    }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

LOCATIONS = """
query Locations($first: Int!) {
  locations(first: $first) {
    nodes { id name }
  }
}
"""

PRICE_FIELDS = "productVariants { id price } userErrors { field message }"
INVENTORY_FIELDS = "inventoryAdjustmentGroup { id } userErrors { field message }"


def price_quantity_mutation(price_count: int, with_inventory: bool) -> str:
    """One document for a whole round: productVariantsBulkUpdate per product (aliases p0, p1, …)
    and one inventorySetQuantities for every quantity, so N listings cost one HTTP call."""
    definitions = [f"$p{i}: ID!, $v{i}: [ProductVariantsBulkInput!]!" for i in range(price_count)]
    fields = [
        f"p{i}: productVariantsBulkUpdate(productId: $p{i}, variants: $v{i}) {{ {PRICE_FIELDS} }}"
        for i in range(price_count)
    ]
    if with_inventory:
        definitions.append("$inventory: InventorySetQuantitiesInput!, $idempotencyKey: String!")
        fields.append(
            "inventory: inventorySetQuantities(input: $inventory) @idempotent(key: $idempotencyKey) "
            f"{{ {INVENTORY_FIELDS} }}"
        )
    return "mutation PriceQuantity(" + ", ".join(definitions) + ") {\n  " + "\n  ".join(fields) + "\n}\n"


DOCUMENTED_SCHEMA = """
schema { query: QueryRoot mutation: Mutation }

directive @idempotent(key: String!) on FIELD

scalar DateTime
scalar Decimal
scalar Money
scalar URL

interface Node { id: ID! }

enum ProductStatus { ACTIVE ARCHIVED DRAFT UNLISTED }
enum OrderSortKeys { CREATED_AT CUSTOMER_NAME FINANCIAL_STATUS FULFILLMENT_STATUS ID ORDER_NUMBER PROCESSED_AT
  RELEVANCE TOTAL_PRICE UPDATED_AT }
enum CurrencyCode { AUD CAD CHF DKK EUR GBP JPY NOK NZD PLN SEK USD }
enum FileContentType { EXTERNAL_VIDEO FILE IMAGE MODEL_3D VIDEO }
enum OrderDisplayFinancialStatus { AUTHORIZED EXPIRED PAID PARTIALLY_PAID PARTIALLY_REFUNDED PENDING REFUNDED
  VOIDED }
enum OrderDisplayFulfillmentStatus { FULFILLED IN_PROGRESS ON_HOLD OPEN PARTIALLY_FULFILLED PENDING_FULFILLMENT
  REQUEST_DECLINED RESTOCKED SCHEDULED UNFULFILLED }
enum FulfillmentStatus { CANCELLED ERROR FAILURE OPEN PENDING SUCCESS }
enum FulfillmentDisplayStatus { ATTEMPTED_DELIVERY CANCELED CONFIRMED DELIVERED FAILURE FULFILLED IN_TRANSIT
  LABEL_PRINTED LABEL_PURCHASED LABEL_VOIDED MARKED_AS_FULFILLED NOT_DELIVERED OUT_FOR_DELIVERY PICKED_UP
  READY_FOR_PICKUP SUBMITTED }
enum FulfillmentOrderStatus { CANCELLED CLOSED INCOMPLETE IN_PROGRESS ON_HOLD OPEN SCHEDULED }
enum CountryCode { AU CA CN DE ES FR GB IE IT JP NL NZ PL SE US }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! endCursor: String startCursor: String }
type UserError { field: [String!] message: String! }
type ProductSetUserError { field: [String!] message: String! }
type ProductVariantsBulkUpdateUserError { field: [String!] message: String! }
type InventorySetQuantitiesUserError { field: [String!] message: String! }

type Location implements Node { id: ID! name: String! isActive: Boolean! }
type LocationConnection { nodes: [Location!]! pageInfo: PageInfo! }
type InventoryLevel implements Node { id: ID! location: Location! }
type InventoryLevelConnection { nodes: [InventoryLevel!]! pageInfo: PageInfo! }
type InventoryItem implements Node {
  id: ID!
  tracked: Boolean!
  inventoryLevels(first: Int, after: String, query: String): InventoryLevelConnection!
}
type ProductVariant implements Node {
  id: ID!
  sku: String
  price: Money!
  compareAtPrice: Money
  inventoryQuantity: Int
  inventoryItem: InventoryItem!
  product: Product!
}
type ProductVariantConnection { nodes: [ProductVariant!]! pageInfo: PageInfo! }
type Product implements Node {
  id: ID!
  title: String!
  handle: String!
  status: ProductStatus!
  variants(first: Int, after: String): ProductVariantConnection!
}
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }
type LineItem {
  id: ID!
  sku: String
  title: String!
  name: String!
  quantity: Int!
  currentQuantity: Int!
  product: Product
  variant: ProductVariant
  originalUnitPriceSet: MoneyBag!
}
type LineItemConnection { nodes: [LineItem!]! pageInfo: PageInfo! }
type Order implements Node {
  id: ID!
  name: String!
  createdAt: DateTime!
  processedAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  test: Boolean!
  currentTotalPriceSet: MoneyBag!
  displayFinancialStatus: OrderDisplayFinancialStatus
  displayFulfillmentStatus: OrderDisplayFulfillmentStatus!
  shippingAddress: MailingAddress
  fulfillments(first: Int, query: String): [Fulfillment!]!
  fulfillmentOrders(first: Int, after: String, displayable: Boolean = false, query: String):
    FulfillmentOrderConnection!
  lineItems(first: Int, after: String): LineItemConnection!
}
type OrderConnection { nodes: [Order!]! pageInfo: PageInfo! }
type MailingAddress implements Node {
  id: ID!
  name: String
  firstName: String
  lastName: String
  company: String
  address1: String
  address2: String
  city: String
  province: String
  provinceCode: String
  zip: String
  country: String
  countryCodeV2: CountryCode
  phone: String
}
type Fulfillment implements Node {
  id: ID!
  status: FulfillmentStatus!
  displayStatus: FulfillmentDisplayStatus
  deliveredAt: DateTime
  createdAt: DateTime!
}
type FulfillmentOrderLineItem implements Node {
  id: ID!
  remainingQuantity: Int!
  totalQuantity: Int!
  lineItem: LineItem!
}
type FulfillmentOrderLineItemConnection { nodes: [FulfillmentOrderLineItem!]! pageInfo: PageInfo! }
type FulfillmentOrder implements Node {
  id: ID!
  status: FulfillmentOrderStatus!
  fulfillBy: DateTime
  lineItems(first: Int, after: String): FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderConnection { nodes: [FulfillmentOrder!]! pageInfo: PageInfo! }
type InventoryAdjustmentGroup implements Node { id: ID! reason: String! }
type ProductSetOperation implements Node { id: ID! }

type QueryRoot {
  product(id: ID!): Product
  order(id: ID!): Order
  productVariants(first: Int, after: String, query: String): ProductVariantConnection!
  nodes(ids: [ID!]!): [Node]!
  locations(first: Int, after: String, query: String, includeInactive: Boolean = false): LocationConnection!
  orders(first: Int, after: String, sortKey: OrderSortKeys = PROCESSED_AT, reverse: Boolean = false,
    query: String): OrderConnection!
}

input OptionValueSetInput { name: String }
input OptionSetInput { name: String values: [OptionValueSetInput!] }
input VariantOptionValueInput { optionName: String name: String }
input InventoryItemInput { tracked: Boolean cost: Decimal sku: String }
input ProductSetInventoryInput { locationId: ID! name: String! quantity: Int! }
input ProductVariantSetInput {
  id: ID
  optionValues: [VariantOptionValueInput!]!
  price: Money
  sku: String
  inventoryItem: InventoryItemInput
  inventoryQuantities: [ProductSetInventoryInput!]
}
input FileSetInput { originalSource: URL contentType: FileContentType alt: String }
input ProductSetInput {
  title: String
  descriptionHtml: String
  vendor: String
  productType: String
  status: ProductStatus
  productOptions: [OptionSetInput!]
  variants: [ProductVariantSetInput!]
  files: [FileSetInput!]
}
input ProductSetIdentifiers { id: ID handle: String }
input ProductVariantsBulkInput { id: ID price: Money compareAtPrice: Money }
input InventoryQuantityInput { inventoryItemId: ID! locationId: ID! quantity: Int! changeFromQuantity: Int }
input InventorySetQuantitiesInput {
  name: String!
  reason: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
}
input ProductUpdateInput { id: ID status: ProductStatus title: String descriptionHtml: String }
input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput {
  fulfillmentOrderId: ID!
  fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!]
}
input FulfillmentTrackingInput { number: String url: URL company: String numbers: [String!] urls: [URL!] }
input FulfillmentOriginAddressInput { address1: String address2: String city: String zip: String provinceCode: String
  countryCode: String! }
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]!
  notifyCustomer: Boolean = false
  originAddress: FulfillmentOriginAddressInput
  trackingInfo: FulfillmentTrackingInput
}

type ProductSetPayload {
  product: Product
  productSetOperation: ProductSetOperation
  userErrors: [ProductSetUserError!]!
}
type ProductVariantsBulkUpdatePayload {
  product: Product
  productVariants: [ProductVariant!]
  userErrors: [ProductVariantsBulkUpdateUserError!]!
}
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}
type ProductUpdatePayload { product: Product userErrors: [UserError!]! }
type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }

type Mutation {
  productSet(input: ProductSetInput!, synchronous: Boolean = true, identifier: ProductSetIdentifiers): ProductSetPayload
  productVariantsBulkUpdate(productId: ID!, variants: [ProductVariantsBulkInput!]!,
    allowPartialUpdates: Boolean = false): ProductVariantsBulkUpdatePayload
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  productUpdate(product: ProductUpdateInput): ProductUpdatePayload
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
}
"""
