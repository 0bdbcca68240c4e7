import SidetapLabels

extension LabelAssignment {
    /// The label of what a request acts on: a flow's label (its capturing source, or its
    /// guest's sources, joined with the owners of its addresses), or for a whole network the
    /// join of every guest whose addresses overlap it.
    func label(of facts: ScopeFacts) -> Label {
        if let network = facts.network {
            return label(network: AddressBlock(address: network.address, prefixLength: network.prefixLength))
        }
        return label(source: facts.source, guest: facts.guest, addresses: facts.addresses)
    }
}
