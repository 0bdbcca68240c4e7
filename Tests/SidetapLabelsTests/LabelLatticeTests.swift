import SidetapLabels
import Testing

@Suite struct LabelLatticeTests {
    let secretAB = Label(classification: 20, compartments: CompartmentSet([0, 1]))
    let secretA = Label(classification: 20, compartments: CompartmentSet([0]))
    let internalB = Label(classification: 10, compartments: CompartmentSet([1]))
    let topHigh = Label(classification: 30, compartments: CompartmentSet([0, 100]))

    @Test func dominance() {
        #expect(secretAB.dominates(secretA))
        #expect(secretAB.dominates(internalB))
        #expect(!secretA.dominates(secretAB))           // compartments not a superset
        #expect(!internalB.dominates(secretA))          // classification lower
        #expect(!secretA.dominates(internalB))          // higher level, but lacks B
        #expect(secretA.dominates(secretA))             // reflexive
        #expect(topHigh.dominates(Label(classification: 0, compartments: CompartmentSet([100]))))
        #expect(!topHigh.dominates(Label(classification: 0, compartments: CompartmentSet([101]))))
    }

    @Test func leastUpperBoundIsTheLowestCommonDominator() {
        let lub = secretA.leastUpperBound(internalB)
        #expect(lub == secretAB)
        #expect(lub.dominates(secretA) && lub.dominates(internalB))
        // Commutative, idempotent, and bounded by any common dominator.
        #expect(internalB.leastUpperBound(secretA) == lub)
        #expect(secretA.leastUpperBound(secretA) == secretA)
        let above = Label(classification: 30, compartments: CompartmentSet([0, 1, 7]))
        #expect(above.dominates(lub))
        // Compartments above bit 63 survive the join.
        #expect(secretA.leastUpperBound(topHigh) == Label(classification: 30, compartments: CompartmentSet([0, 100])))
    }

    @Test func greatestLowerBound() {
        #expect(secretAB.greatestLowerBound(internalB) == internalB)
        #expect(secretA.greatestLowerBound(internalB) == Label(classification: 10))
    }
}
